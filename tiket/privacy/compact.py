"""After an erasure or a retention run: erased bytes out of the database files and the outbox.

SQLite: VACUUM rewrites the file (no erased row is left in a free page), then a TRUNCATE
checkpoint empties the WAL, which holds the old pages until then. PostgreSQL: an UPDATE or
DELETE leaves the old row version in the table as a dead tuple until VACUUM; a plain VACUUM of
the personal-data tables, outside a transaction, removes those no open transaction can still
see. It marks their space free without rewriting the files, so the bytes stay on disk until
reused, and the WAL segments, archives, replicas and backups keep them until they expire:
VACUUM FULL (an exclusive lock) and the backup rotation are the operator's to run.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from tiket.model.db import Database

log = logging.getLogger(__name__)

# Every table where an erasure or retention run updates or deletes personal data.
PERSONAL_TABLES = (
    "requesters",
    "tickets",
    "entries",
    "attachments",
    "events",
    "inbound_messages",
    "inbound_media",
    "outbox",
    "message_refs",
    "surveys",
    "solutions",
    "watchers",
    "suppressions",
    "text_opt_outs",
    "job_sends",
    "learned_models",
)
WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Compaction:
    done: bool
    detail: str  # what was done, or why not: one line


def compact(db: Database, wait_seconds: float = WAIT_SECONDS) -> Compaction:
    """Rewrite the database so erased rows leave its files; never raises for a busy database."""
    if db.is_sqlite:
        return _sqlite(db, wait_seconds)
    return _postgres(db, wait_seconds)


def _sqlite(db: Database, wait_seconds: float) -> Compaction:
    raw = db.engine.raw_connection()
    cursor = raw.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        cursor.execute("VACUUM")
        busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            return Compaction(False, "the WAL is in use by another connection")
        return Compaction(True, "database file rewritten (VACUUM) and WAL emptied")
    except sqlite3.Error as exc:  # "database is locked" while another writer holds it
        log.warning("action=compact_failed error=%s", exc)
        return Compaction(False, f"SQLite refused VACUUM: {exc}")
    finally:
        cursor.execute("PRAGMA busy_timeout=30000")  # the pool's setting (model/db.py)
        cursor.close()
        raw.close()


def _postgres(db: Database, wait_seconds: float) -> Compaction:
    tables = ", ".join(f'"{name}"' for name in PERSONAL_TABLES)
    try:
        # VACUUM cannot run inside a transaction block: its own connection, autocommit.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"SET lock_timeout = {max(1, int(wait_seconds * 1000))}")
            try:
                connection.exec_driver_sql(f"VACUUM {tables}")
            finally:
                connection.exec_driver_sql("RESET lock_timeout")
    except DBAPIError as exc:
        log.warning("action=compact_failed error=%s", exc.orig)
        return Compaction(False, f"PostgreSQL refused VACUUM: {exc.orig}")
    return Compaction(True, f"VACUUM of {len(PERSONAL_TABLES)} tables")


def remove_outbox_files(outbox_dir: Path, outbox_ids: list[int]) -> int:
    """Delete the .eml records of the erased outbox rows (FileSender writes `<id>-<kind>.eml`)."""
    removed = 0
    for outbox_id in outbox_ids:
        for path in outbox_dir.glob(f"{outbox_id:08d}-*.eml"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
