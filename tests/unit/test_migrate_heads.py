"""The daemon's schema check reads the migration files itself; it must agree with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from tiket.model.db import Database
from tiket.model.migrate import (
    alembic_config,
    current_revisions,
    head_revisions,
    is_current,
    upgrade,
)


def test_heads_from_the_files_are_alembics_heads() -> None:
    alembic_heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    assert head_revisions() == alembic_heads


def test_a_fresh_database_is_not_current_until_upgraded(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert current_revisions(db) == set()
        assert not is_current(db)
        upgrade(db)
        assert current_revisions(db) == head_revisions()
        assert is_current(db)
    finally:
        db.dispose()
