"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tiket.model import Base
from tiket.model.db import Database
from tiket.model.migrate import head_revisions, is_current, upgrade


def test_migrations_match_the_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert is_current(db)
        assert len(head_revisions(db)) == 1, "the migrations must form one line, not branches"
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        upgrade(db)  # idempotent
    finally:
        db.dispose()


def test_inbound_raw_is_the_last_column_on_sqlite(tmp_path: Path) -> None:
    """SQLite takes a large zeroblob piece by piece only as a record's last value (0011)."""
    db = Database(f"sqlite:///{tmp_path / 'tiket.db'}")
    try:
        upgrade(db)
        with db.engine.connect() as connection:
            columns = [
                row[1] for row in connection.execute(text("PRAGMA table_info(inbound_messages)"))
            ]
        assert columns[-1] == "raw"
    finally:
        db.dispose()
