"""Large binary values moved in pieces, so the driver holds no whole copies beside ours.

Binding a 25 MB value makes sqlite3 copy it (SQLITE_TRANSIENT) and SQLite copy it again into
the record it builds: twice the value in memory on top of ours. Inserting a zeroblob of the
right size and writing the value through incremental blob I/O costs one 1 MB piece at a time
(only when the column is the table's last: elsewhere SQLite builds the whole record anyway).
Other databases get the value bound as usual.

Reading is the same story: selecting a 34 MB value costs SQLite's copy and ours on SQLite,
and on PostgreSQL the hex text of it (twice its size) and ours. `read` reads it through blob
I/O on SQLite and a megabyte at a time elsewhere.
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import LargeBinary, Table, func, select
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


def read(session: Session, table: Table, column: str, rowid: int) -> bytes | None:
    """The value of that row's column (None when NULL), without the driver's whole copies."""
    value = table.c[column]
    where = table.c.id == rowid
    size = session.scalar(select(func.length(value)).where(where))
    if size is None:
        return None
    if session.get_bind().dialect.name == "sqlite":
        driver = session.connection().connection.driver_connection
        assert driver is not None
        with driver.blobopen(table.name, column, rowid, readonly=True) as blob:
            data: bytes = blob.read()  # straight into one bytes object
            return data
    out = io.BytesIO()  # getvalue() hands over its buffer: no copy of the whole
    for offset in range(0, size, CHUNK):
        out.write(
            session.scalar(
                select(func.substr(value, offset + 1, CHUNK, type_=LargeBinary)).where(where)
            )
            or b""
        )
    return out.getvalue()
