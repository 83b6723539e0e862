"""The daemon's background loops: processing the inbound queue and delivering the outbox."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from tiket.config import Settings
from tiket.errors import PermanentError, TemporaryError
from tiket.model import OutboxMessage
from tiket.model.db import Database
from tiket.outbound import outbox
from tiket.outbound.email import EmailSender, SmtpSender
from tiket.outbound.journal import Journal
from tiket.processing import claim_batch, process_batch

log = logging.getLogger(__name__)

# Rows the smarthost took are marked sent together, at most this long after the first of them
# (one database turn for many answers); until then the journal and `Deliverer.unmarked` hold them.
MARK_EVERY = 0.25


class Loop(threading.Thread):
    """Runs `work()` until stopped; sleeps on an event between rounds with nothing to do."""

    def __init__(self, name: str, poll_seconds: float) -> None:
        super().__init__(name=name, daemon=True)
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._halt = threading.Event()
        self.last_error: str | None = None
        self.last_success: float | None = None

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._halt.is_set()

    def run(self) -> None:
        delay = 0.0
        while not self._halt.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._halt.is_set():
                break
            try:
                busy = self.work()
                self.last_success = time.time()
                self.last_error = None
                delay = 0.0 if busy else self.poll_seconds
            except TemporaryError as exc:
                self.last_error = str(exc)
                log.warning("action=%s_paused error=%s", self.name, exc)
                delay = min(30.0, max(1.0, delay * 2))
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("action=%s_error", self.name)
                delay = min(30.0, max(1.0, delay * 2))

    def work(self) -> bool:
        raise NotImplementedError


class Processor(Loop):
    def __init__(self, db: Database, settings: Settings, secret: bytes, deliverer: Loop) -> None:
        super().__init__("processor", settings.worker.poll_seconds)
        self.db = db
        self.settings = settings
        self.secret = secret
        self.deliverers = [deliverer]  # woken when processing queued answers
        self.observe: Callable[[float], None] = lambda seconds: None  # processing latency

    def work(self) -> bool:
        ids = claim_batch(self.db, 100)
        busy = False
        while ids and not self.stopping:
            started = time.perf_counter()
            results = process_batch(self.db, self.settings, self.secret, ids)
            if not results:
                break  # every row was taken by another worker
            each = (time.perf_counter() - started) / len(results)
            for result in results:
                self.observe(each)
                log.info("action=processed inbound=%d result=%s", result.inbound_id, result.summary)
            for deliverer in self.deliverers:
                deliverer.wake()
            busy = True
            ids = ids[ids.index(results[-1].inbound_id) + 1 :]
        return busy


class Deliverer(Loop):
    def __init__(self, db: Database, settings: Settings, sender: EmailSender) -> None:
        super().__init__("deliverer", settings.worker.poll_seconds)
        self.db = db
        self.settings = settings
        self.sender = sender
        self.journal = Journal(settings.var_dir / "deliverer.journal")
        # The round in hand: rows claimed (id -> attempts), and those the smarthost accepted that
        # are not marked sent yet. The journal keeps them across a crash; these keep them when
        # the journal cannot be written either (a full disk) and the round fails.
        self.held: dict[int, outbox.Claim] = {}
        self.unmarked: set[int] = set()
        self.clock: Callable[[], float] = time.monotonic
        if isinstance(sender, SmtpSender):
            sender.hand_over = self._hand_over

    def _hand_over(self, row_id: int, sock: socket.socket, tail: bytes) -> None:
        """Once the kernel has the message's final dot the smarthost will have it even if we die
        before its answer, so it counts as sent from there (a refusal takes it back)."""
        self.journal.sent_with(row_id, sock, tail)
        self.unmarked.add(row_id)

    def _handed_over(self, row_id: int) -> None:
        """For a sender that does not tell: the smarthost took the message."""
        self.unmarked.add(row_id)
        self.journal.sent(row_id)

    def work(self) -> bool:
        pending = self.journal.pending()
        if pending or self.held or self.unmarked:  # a round that died (crash, database gone)
            sent = pending.sent | self.unmarked
            claimed = {**pending.claimed, **self.held}
            marked, released = outbox.settle(self.db, sent, claimed)
            log.warning("action=outbox_settled marked_sent=%d put_back=%d", marked, released)
            self.held, self.unmarked = {}, set()
            self.journal.clear()
        rows = outbox.claim(self.db, ["email"], before_commit=self.journal.claimed)
        claimed_at = self.clock()
        self.held = {row.id: outbox.Claim(row.attempts) for row in rows}
        cfg = self.settings.outbound
        taken: list[tuple[OutboxMessage, str | None]] = []  # by the smarthost, not yet marked
        marked_at = claimed_at
        try:
            for row in rows:
                # A lease past half its time is renewed before each send, and a row another
                # worker took meanwhile is skipped; a young one needs no database turn.
                old = self.clock() - claimed_at > outbox.SENDING_LEASE.total_seconds() / 2
                if old and not outbox.renew(self.db, row):
                    continue
                try:
                    provider_id = self.sender.send(row)
                except (TemporaryError, PermanentError) as exc:
                    if row.id in self.unmarked:  # handed over, then refused
                        self.unmarked.discard(row.id)
                        self.journal.refused(row.id)
                    outbox.mark_failed(
                        self.db,
                        row,
                        str(exc),
                        permanent=isinstance(exc, PermanentError),
                        base=cfg.retry_base_seconds,
                        ceiling=cfg.retry_max_seconds,
                        max_attempts=cfg.max_attempts,
                    )
                    continue
                if row.id not in self.unmarked:  # a sender that does not tell when it hands over
                    self._handed_over(row.id)
                taken.append((row, provider_id))
                if self.clock() - marked_at >= MARK_EVERY:
                    self._mark(taken)
                    taken, marked_at = [], self.clock()
            self._mark(taken)
            self.journal.clear()
            self.held = {}
        finally:
            self.sender.close()
        return bool(rows)

    def _mark(self, sent: list[tuple[OutboxMessage, str | None]]) -> None:
        """Mark what the smarthost took, in one transaction (the journal covers a crash)."""
        if not sent:
            return
        for (row, _), held in zip(sent, outbox.mark_sent_many(self.db, sent), strict=True):
            if held:
                log.info("action=sent outbox=%d kind=%s to=%s", row.id, row.kind, row.recipient)
        self.unmarked -= {row.id for row, _ in sent}
