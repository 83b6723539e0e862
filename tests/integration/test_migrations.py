"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
