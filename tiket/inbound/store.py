"""The accept path: a raw message and its envelope become a committed, deduplicated inbound row."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tiket.errors import DatabaseUnavailable, TemporaryError
from tiket.model import InboundMessage, blobs
from tiket.model.db import Database, recycle_connection

log = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# The first half of the two-number advisory lock keys taken on idempotency keys (PostgreSQL).
KEY_LOCK_SPACE = 0x7469  # "ti"


@dataclass(frozen=True)
class Arrival:
    """One message as it arrived, before anything is decided about it."""

    raw: bytes
    channel: str
    idempotency_key: str
    source: str = ""
    envelope_from: str = ""
    envelope_to: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    id: int
    duplicate: bool


def mail_key(raw: bytes) -> str:
    """Message-ID plus a hash of the body: the same mail relayed twice by different hops is one.

    Trace headers (Received, Delivered-To, Return-Path) differ between two deliveries of one
    message, so only the Message-ID and what follows the header block count.
    """
    split = _HEADER_END.search(raw)
    # A view of the body: slicing bytes would copy a 34 MB attachment just to hash it.
    head, body = (raw[: split.start()], memoryview(raw)[split.end() :]) if split else (raw, b"")
    match = _MESSAGE_ID.search(head)
    message_id = b" ".join(match.group(1).split()) if match else b""
    digest = hashlib.sha256(body if message_id else raw).hexdigest()
    if not message_id:
        return f"mail:none:{digest}"
    return _key_prefix(message_id) + digest


def mail_key_prefix(message_id: str) -> str:
    """The start of the idempotency key of every mail with this Message-ID (see `mail_key`)."""
    return _key_prefix(message_id.encode())


def _key_prefix(message_id: bytes) -> str:
    return f"mail:{hashlib.sha256(message_id).hexdigest()[:24]}:"


class InboundStore:
    """Commits arrivals; a known idempotency key is a normal outcome, not an error."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._insert = sqlite_insert if db.is_sqlite else pg_insert

    def accept_many(self, arrivals: Sequence[Arrival]) -> list[Accepted]:
        """Store every arrival in one transaction (one fsync for all of them)."""
        try:
            with self.db.session() as session:
                if not self.db.is_sqlite and len(arrivals) > 1:
                    self._lock_keys(session, arrivals)
                if any(len(arrival.raw) >= blobs.LARGE_BLOB for arrival in arrivals):
                    recycle_connection(session)
                return [self.insert(session, arrival) for arrival in arrivals]
        except DBAPIError as exc:
            raise DatabaseUnavailable(f"cannot store inbound message: {exc.orig}") from exc

    def _lock_keys(self, session: Session, arrivals: Sequence[Arrival]) -> None:
        """Lock the batch's keys in one order before inserting in arrival order (ids keep it).

        Two daemons storing the same mails in different orders would otherwise each wait for a
        key the other inserted and has not committed: a deadlock that refuses both batches.
        """
        session.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(:space, h)) FROM"
                " (SELECT DISTINCT hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k"
                " ORDER BY h) AS sorted"
            ),
            {"space": KEY_LOCK_SPACE, "keys": [arrival.idempotency_key for arrival in arrivals]},
        )

    def insert(self, session: Session, arrival: Arrival) -> Accepted:
        """Insert one arrival in the caller's transaction, or find the row that has its key."""
        streamed = blobs.streams(session, arrival.raw)
        stmt = (
            self._insert(InboundMessage)
            .values(
                idempotency_key=arrival.idempotency_key,
                channel=arrival.channel,
                source=arrival.source,
                envelope_from=arrival.envelope_from,
                envelope_to=list(arrival.envelope_to),
                meta=arrival.meta,
                raw=blobs.placeholder(len(arrival.raw)) if streamed else arrival.raw,
                size=len(arrival.raw),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(InboundMessage.id)
        )
        new_id = session.execute(stmt).scalar()
        if new_id is not None:
            if streamed:
                blobs.fill(session, InboundMessage.__tablename__, "raw", new_id, arrival.raw)
            return Accepted(new_id, duplicate=False)
        old_id = session.scalar(
            select(InboundMessage.id).where(
                InboundMessage.idempotency_key == arrival.idempotency_key
            )
        )
        assert old_id is not None
        return Accepted(old_id, duplicate=True)

    def accept(self, arrival: Arrival) -> Accepted:
        return self.accept_many([arrival])[0]


def original(session: Session, row: InboundMessage) -> bytes | None:
    """The row's raw message, to parse; None once erased. A large one is not kept on the row.

    A large original is read in pieces (model/blobs.py) after the row's pending changes are
    written: SQLite rewrites a row's whole record, raw included, on every UPDATE, so that
    should not happen while we hold a copy as well. Load the row with `raw` deferred.
    """
    if row.size < blobs.LARGE_BLOB:
        return row.raw
    recycle_connection(session)
    session.flush()
    table = InboundMessage.__table__
    assert isinstance(table, Table)
    return blobs.read(session, table, "raw", row.id)


class GroupCommit:
    """Batches arrivals from concurrent sessions into one transaction each time the disk is free."""

    def __init__(
        self,
        store: InboundStore,
        *,
        on_stored: Callable[[], None] = lambda: None,
        max_batch: int = 256,
    ) -> None:
        self.store = store
        self.on_stored = on_stored
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Arrival, asyncio.Future[Accepted]] | None] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def drain(self, timeout: float) -> None:
        """Commit what is queued (a graceful stop), then end the writer."""
        if self._task is None:
            return
        self._closed = True
        await self._queue.put(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            log.warning("action=drain_timeout pending=%d", self._queue.qsize())
            await self.stop()
        self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def submit(self, arrival: Arrival) -> Accepted:
        if self._closed:
            raise TemporaryError("shutting down")
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        await self._queue.put((arrival, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await self._next_batch()
            if batch:
                await self._commit(batch)
            del batch  # a big mail's bytes must not stay alive until the next batch arrives

    async def _next_batch(self) -> tuple[list[tuple[Arrival, asyncio.Future[Accepted]]], bool]:
        """What is queued (waiting for the first), and whether the queue was closed."""
        first = await self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < self.max_batch and not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _commit(self, batch: list[tuple[Arrival, asyncio.Future[Accepted]]]) -> None:
        arrivals = [arrival for arrival, _ in batch]
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                None, self.store.accept_many, arrivals
            )
        except Exception as exc:
            log.warning("action=accept_failed count=%d error=%s", len(batch), exc)
            error = exc if isinstance(exc, TemporaryError) else TemporaryError(str(exc))
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        self.on_stored()
