"""Large binary values written into SQLite in pieces, so the driver holds no whole copies.

Binding a 25 MB value makes sqlite3 copy it (SQLITE_TRANSIENT) and SQLite copy it again into
the record it builds: twice the value in memory on top of ours. Inserting a zeroblob of the
right size and writing the value through incremental blob I/O costs one 1 MB piece at a time.
Other databases get the value bound as usual.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary, func
from sqlalchemy.orm import Session

LARGE_BLOB = 1 << 20  # smaller values are bound as usual
CHUNK = 1 << 20


def streams(session: Session, data: bytes) -> bool:
    """True when `data` should go in as a zeroblob filled by `fill` after the insert."""
    return len(data) >= LARGE_BLOB and session.get_bind().dialect.name == "sqlite"


def placeholder(size: int) -> Any:
    """The SQL value to insert for a blob of `size` bytes that `fill` writes afterwards."""
    return func.zeroblob(size, type_=LargeBinary)


def fill(session: Session, table: str, column: str, rowid: int, data: bytes) -> None:
    """Write `data` into the zeroblob of that row, in the session's transaction."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    view = memoryview(data)
    with driver.blobopen(table, column, rowid) as blob:
        for offset in range(0, len(view), CHUNK):
            blob.write(view[offset : offset + CHUNK])
