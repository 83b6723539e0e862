"""After a large value, a PostgreSQL connection is replaced rather than kept with its buffers."""

from __future__ import annotations

from sqlalchemy import text

from tiket.model.db import Database, recycle_connection


def _backend(db: Database) -> int:
    with db.session() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_recycled_connection_is_replaced_and_others_are_kept(db: Database) -> None:
    if db.is_sqlite:
        with db.session() as session:
            recycle_connection(session)  # nothing to do: SQLite has no server buffers
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        return
    db.engine.dispose()
    kept = _backend(db)
    assert _backend(db) == kept  # the pool hands the same connection back
    with db.session() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() == kept
        recycle_connection(session)
    fresh = _backend(db)
    assert fresh != kept
    assert _backend(db) == fresh
