"""Read-only sessions for reports: on SQLite a deferred transaction, which never blocks writers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from tiket.model.db import Database


class Reader:
    """Sessions for aggregate queries, several at once.

    The daemon's SQLite engine begins every transaction IMMEDIATE (it takes the write lock);
    a report that held it for seconds would stall the inbound queue. A deferred read
    transaction in WAL mode sees one snapshot and lets writers go on.
    """

    def __init__(self, db: Database) -> None:
        self._own: Engine | None = None
        engine = db.engine
        if db.is_sqlite:
            engine = self._own = _sqlite_reader(db.url)
        self._factory = sessionmaker(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._factory() as session, session.begin():
            yield session

    def close(self) -> None:
        if self._own is not None:
            self._own.dispose()
            self._own = None


def _sqlite_reader(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine
