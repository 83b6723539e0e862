"""The engine and sessions: SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL through psycopg 3."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tiket.errors import DatabaseUnavailable


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 8)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_RECYCLE, False) and dbapi_connection is not None:
            record.invalidate()  # closed now; the pool opens a fresh one when next asked

    return engine


_RECYCLE = "tiket_recycle"


def recycle_connection(session: Session) -> None:
    """Close this session's connection when it goes back to the pool (PostgreSQL).

    libpq keeps its buffers at the size of the largest message the connection sent or received,
    for the connection's life: after a 30 MB mail, 30 MB more for every pooled connection that
    carried one. A large value is rare enough that a new connection costs nothing that matters.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.connection.info[_RECYCLE] = True


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that we can BEGIN IMMEDIATE:
        # a deferred BEGIN upgraded to a write lock fails with "database is locked".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Turn:
    """A reentrant lock that knows how many threads are queued for it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self.waiting = 0

    def __enter__(self) -> None:
        with self._count:
            self.waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._count:
                self.waiting -= 1

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class Database:
    """An engine and its session factory; `session()` is one transaction."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Left to itself, a thread that finds the database
        # locked sleeps and retries, and a busy thread (the processor) keeps winning: the
        # accept path starved to a tenth of its rate. Taking turns in-process is fair and fast.
        self._turn: Turn | contextlib.nullcontext[None] = (
            Turn() if self.is_sqlite else contextlib.nullcontext()
        )

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back when it raises."""
        try:
            with self._turn, self._factory() as session, session.begin():
                yield session
        except OperationalError as exc:
            if _is_disk_full(exc):
                raise DatabaseUnavailable(
                    f"the disk holding the database is full, free some space: {exc.orig}"
                ) from exc
            if _is_unavailable(exc):
                raise DatabaseUnavailable(f"database unavailable: {exc.orig}") from exc
            raise

    def others_waiting(self) -> bool:
        """Whether another thread of this process waits for its turn at the (SQLite) database:
        a long unit of work (a processing batch) should end soon and let it in."""
        return isinstance(self._turn, Turn) and self._turn.waiting > 0

    def check(self) -> None:
        """Raise DatabaseUnavailable unless the database answers."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except DBAPIError as exc:
            raise DatabaseUnavailable(f"database unavailable: {exc.orig}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _is_disk_full(exc: OperationalError) -> bool:
    # SQLite: "database or disk is full"; PostgreSQL: "could not extend file ...: No space left
    # on device" (SQLSTATE 53100), a server error that says nothing about connections.
    text = str(exc.orig).lower()
    return "disk is full" in text or "no space left" in text


def _is_unavailable(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return exc.connection_invalidated or any(
        word in text
        for word in (
            "connection",
            "could not connect",
            "server closed",
            "locked",
            "disk",
            "unable to open",
        )
    )
