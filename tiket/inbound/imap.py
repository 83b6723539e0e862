"""The IMAP watcher: one thread per `[[imap]]` mailbox keeps it drained into the inbound queue.

A message is fetched with BODY.PEEK[] (it stays unread), committed to the inbound queue, and
only then moved to the processed folder (or flagged where the server has no MOVE). A crash
between the commit and the move leaves it in the folder: the next round fetches it again, the
store recognises its key (`mail_key`, the same as for SMTP) and it is simply moved. Two daemons
on one mailbox may both take a message; the unique key makes it one inbound row.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from sqlalchemy.exc import SQLAlchemyError

from tiket.config import ImapSettings
from tiket.errors import DatabaseUnavailable, TiketError
from tiket.inbound.imap_connect import (
    COMMAND_TIMEOUT,
    ImapError,
    ImapRefused,
    address,
    close,
    connect,
    translated,
)
from tiket.inbound.imap_folders import Layout, prepare, put_away, quota_warning
from tiket.inbound.imap_state import MailboxStates, source
from tiket.inbound.imap_wait import idle_until_news, poll_after
from tiket.inbound.store import Accepted, Arrival, InboundStore, mail_key
from tiket.model.db import Database

log = logging.getLogger(__name__)

BATCH_MESSAGES = 200  # one fetch, one commit, one move
BATCH_BYTES = 8 << 20  # ...unless the messages are big: bounds the memory a batch takes
ROUND_LIMIT = 5000  # UIDs handled per search; the next round takes the rest
MAX_ROUNDS = 100  # searches in one drain before waiting (only when mail keeps pouring in)
# Re-issue IDLE at least this often even when idle_seconds is longer: a server that stopped
# answering shows up as a timeout on the renewal instead of staying unnoticed for half an hour.
LIVENESS_SECONDS = 300.0
QUOTA_EVERY = 300.0  # seconds between quota checks
UNREADABLE_TRIES = 3  # fetches giving no content before a message is left alone this session
FLAT = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RETURN_PATH = re.compile(rb"^return-path:[ \t]*<?([^>\r\n]*)>?", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Backoff:
    """Exponential delay with jitter between reconnections: 1 s, 2 s, 4 s … capped at 60 s."""

    first: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        ceiling: float = min(self.cap, self.first * 2.0 ** max(0, failures - 1))
        # Half fixed, half random: daemons restarted together do not reconnect in step.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _nothing(*_: Any) -> None:
    return None


class MailboxWatcher(threading.Thread):
    """Watches one mailbox until stopped: IDLE where the server offers it, polling where not."""

    def __init__(
        self,
        mailbox: ImapSettings,
        db: Database,
        *,
        on_stored: Callable[[], None] = _nothing,
        timeout: float = COMMAND_TIMEOUT,
        backoff: Backoff | None = None,
        after_commit: Callable[[Sequence[int]], None] = _nothing,
        store: InboundStore | None = None,
    ) -> None:
        super().__init__(name=f"imap-{mailbox.name}", daemon=True)
        self.mailbox = mailbox
        self.store = store or InboundStore(db)
        self.states = MailboxStates(db, mailbox.name)
        self.on_stored = on_stored  # wakes the processor
        self.after_commit = after_commit  # observes UIDs committed but not yet moved
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.connected = False
        self.taken = 0  # new messages committed by this watcher
        self.last_error: str | None = None
        self._stop_requested = threading.Event()
        self._uidvalidity: int | None = None
        self._committed: set[int] = set()  # UIDs committed, not yet moved (this UIDVALIDITY)
        self._tries: dict[int, int] = {}
        self._skipped: set[int] = set()
        self._warning: str | None = None
        self._quota_checked = 0.0
        self._healthy = False

    # -- the thread -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop_requested.set()

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    def run(self) -> None:
        self._record(self.states.register)
        failures = 0
        while not self.stopping:
            try:
                self._session()
                continue
            except (ImapError, DatabaseUnavailable) as exc:
                error = str(exc)
                kind = _kind(exc)
            except Exception as exc:  # a bug must not end the watcher: log, back off, retry
                log.exception("action=imap_bug mailbox=%s", self.mailbox.name)
                error = f"{type(exc).__name__}: {exc}"
                kind = "bug"
            self.connected = False
            self.last_error = error
            failures = 1 if self._healthy else failures + 1
            self._healthy = False
            delay = self.backoff.delay(failures)
            log.warning(
                "action=imap_failed mailbox=%s kind=%s retry_in=%.1fs attempt=%d error=%s",
                self.mailbox.name,
                kind,
                delay,
                failures,
                FLAT.sub(" ", error),
            )
            self._record(self.states.failed, error)
            self._stop_requested.wait(delay)
        log.info("action=imap_stopped mailbox=%s", self.mailbox.name)

    def _record(self, write: Callable[..., Any], *args: Any) -> None:
        """State writes are best effort: a database outage is reported by the commit itself."""
        try:
            write(*args)
        except (TiketError, SQLAlchemyError) as exc:
            log.warning("action=imap_state_unsaved mailbox=%s error=%s", self.mailbox.name, exc)

    # -- one connection ---------------------------------------------------------------------

    def _session(self) -> None:
        client = connect(self.mailbox, self.timeout)
        clean = False
        try:
            layout = prepare(client, self.mailbox)
            self._begin(layout)
            while not self.stopping:
                self._drain(client, layout)
                self._check_quota(client, layout)
                self.states.succeeded(warning=self._warning)
                self._healthy = True
                if self.stopping:
                    break
                self._wait(client, layout)
            clean = True
        finally:
            self.connected = False
            close(client, logout=clean)
            if clean:
                self._record(self.states.disconnected)

    def _begin(self, layout: Layout) -> None:
        mode = "idle" if layout.idle else "poll"
        self.states.register()  # again: the database may have been down when the thread began
        before = self.states.connected(mode=mode, uidvalidity=layout.uidvalidity)
        known = self._uidvalidity if self._uidvalidity is not None else before
        if known is not None and known != layout.uidvalidity:
            # UIDs were renumbered: what we remember by UID no longer names the same mail.
            # Nothing is lost or doubled: every message is fetched again and recognised by its key.
            log.warning(
                "action=imap_uidvalidity_changed mailbox=%s folder=%s old=%d new=%d",
                self.mailbox.name,
                layout.folder,
                known,
                layout.uidvalidity,
            )
            self._committed.clear()
        self._uidvalidity = layout.uidvalidity
        self._tries.clear()
        self._skipped.clear()
        self._quota_checked = 0.0
        self.connected = True
        host, port = address(self.mailbox)
        log.info(
            "action=imap_connected mailbox=%s server=%s:%d folder=%s mode=%s finish=%s "
            "uidvalidity=%d",
            self.mailbox.name,
            host,
            port,
            layout.folder,
            mode,
            layout.finish_mode,
            layout.uidvalidity,
        )

    # -- taking mail ------------------------------------------------------------------------

    def _drain(self, client: IMAPClient, layout: Layout) -> int:
        """Take every waiting message; returns how many were new to the queue."""
        taken = 0
        for _ in range(MAX_ROUNDS):
            with translated(self.mailbox, f"search {layout.folder}"):
                found = sorted(client.search(layout.waiting))
            uids = [uid for uid in found if uid not in self._skipped][:ROUND_LIMIT]
            if not uids or self.stopping:
                break
            ready = [uid for uid in uids if uid in self._committed]
            self._put_away(client, layout, ready)
            todo = [uid for uid in uids if uid not in self._committed]
            for batch in self._batches(client, todo):
                if self.stopping:
                    return taken
                taken += self._take(client, layout, batch)
        return taken

    def _batches(self, client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
        if not uids:
            return
        with translated(self.mailbox, "fetch sizes"):
            sizes = client.fetch(uids, [b"RFC822.SIZE"])
        batch: list[int] = []
        total = 0
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE") or 0)
            if batch and (len(batch) >= BATCH_MESSAGES or total + size > BATCH_BYTES):
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += size
        if batch:
            yield batch

    def _take(self, client: IMAPClient, layout: Layout, uids: list[int]) -> int:
        fetched = self._fetch(client, uids)
        stored = self._commit([(uid, self._arrival(layout, uid, raw)) for uid, raw in fetched])
        if not stored:
            return 0
        done = [uid for uid, _ in stored]
        self._committed.update(done)
        self.on_stored()
        self.after_commit(done)
        self._put_away(client, layout, done)
        new = sum(not accepted.duplicate for _, accepted in stored)
        self.taken += new
        log.info(
            "action=imap_taken mailbox=%s count=%d new=%d duplicate=%d uids=%d-%d",
            self.mailbox.name,
            len(done),
            new,
            len(done) - new,
            done[0],
            done[-1],
        )
        return new

    def _commit(self, items: list[tuple[int, Arrival]]) -> list[tuple[int, Accepted]]:
        """Commit a batch; when the database refuses it but still answers, commit one by one
        so that a message it cannot take stays in the folder without holding the others."""
        if not items:
            return []
        try:
            results = self.store.accept_many([arrival for _, arrival in items])
            return list(zip((uid for uid, _ in items), results, strict=True))
        except DatabaseUnavailable:
            if len(items) == 1 or not self._database_answers():
                raise
        stored = []
        for uid, arrival in items:
            try:
                stored.append((uid, self.store.accept(arrival)))
            except DatabaseUnavailable as exc:
                if not self._database_answers():
                    raise
                self._skipped.add(uid)
                log.error(
                    "action=imap_unstorable mailbox=%s uid=%d: left in the folder: %s",
                    self.mailbox.name,
                    uid,
                    FLAT.sub(" ", str(exc)),
                )
        return stored

    def _database_answers(self) -> bool:
        try:
            self.store.db.check()
        except DatabaseUnavailable:
            return False
        return True

    def _fetch(self, client: IMAPClient, uids: list[int]) -> list[tuple[int, bytes]]:
        """(UID, raw) in UID order; a message the server will not give is counted, not fatal."""
        try:
            with translated(self.mailbox, "fetch"):
                data = client.fetch(uids, [b"BODY.PEEK[]"])
        except ImapRefused as exc:
            if len(uids) > 1:  # one bad message must not hold back its batch: take them singly
                return [item for uid in uids for item in self._fetch(client, [uid])]
            log.info(
                "action=imap_fetch_refused mailbox=%s uid=%d error=%s",
                self.mailbox.name,
                uids[0],
                exc,
            )
            data = {}
        fetched = []
        for uid in uids:
            raw = data.get(uid, {}).get(b"BODY[]")
            if raw is None:
                self._unreadable(uid)
                continue
            fetched.append((uid, bytes(raw)))
        return fetched

    def _unreadable(self, uid: int) -> None:
        # Usually another daemon moved it a moment ago, and the next search will not find it.
        tries = self._tries[uid] = self._tries.get(uid, 0) + 1
        if tries >= UNREADABLE_TRIES:
            self._skipped.add(uid)
            log.warning(
                "action=imap_unreadable mailbox=%s uid=%d: the server gives no content for it; "
                "left in the folder until the next connection",
                self.mailbox.name,
                uid,
            )

    def _put_away(self, client: IMAPClient, layout: Layout, uids: list[int]) -> None:
        put_away(client, self.mailbox, layout, uids)
        self._committed.difference_update(uids)

    def _arrival(self, layout: Layout, uid: int, raw: bytes) -> Arrival:
        meta: dict[str, Any] = {
            "mailbox": self.mailbox.name,
            "folder": layout.folder,
            "uid": uid,
            "uidvalidity": layout.uidvalidity,
        }
        if self.mailbox.team:  # routing sends the ticket to this team unless a rule says otherwise
            meta["team"] = self.mailbox.team
        user = self.mailbox.user
        return Arrival(
            raw=raw,
            channel="email",
            idempotency_key=mail_key(raw),
            source=source(self.mailbox.name),
            envelope_from=return_path(raw),
            envelope_to=(user,) if "@" in user else (),
            meta=meta,
        )

    # -- between rounds ---------------------------------------------------------------------

    def _wait(self, client: IMAPClient, layout: Layout) -> None:
        if layout.idle:
            renew = min(self.mailbox.idle_seconds, LIVENESS_SECONDS)
            idle_until_news(client, self.mailbox, renew, self._stop_requested, self.timeout)
        else:
            poll_after(client, self.mailbox, self._stop_requested)

    def _check_quota(self, client: IMAPClient, layout: Layout) -> None:
        now = time.monotonic()
        if self._quota_checked and now - self._quota_checked < QUOTA_EVERY:
            return
        self._quota_checked = now
        try:
            warning = quota_warning(client, self.mailbox, layout)
        except ImapRefused:  # a server that lists QUOTA but will not answer it: no warning
            warning = None
        if warning and warning != self._warning:
            log.warning("action=imap_mailbox_full mailbox=%s detail=%s", self.mailbox.name, warning)
        elif self._warning and not warning:
            log.info("action=imap_mailbox_not_full mailbox=%s", self.mailbox.name)
        self._warning = warning


def return_path(raw: bytes) -> str:
    """The envelope sender the delivering server recorded, if it did ("" for a bounce's <>)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = _RETURN_PATH.search(head)
    if match is None:
        return ""
    address = match.group(1).decode("utf-8", "replace")
    # A control character (NUL above all) would make PostgreSQL refuse the whole batch.
    return _CONTROL.sub("", address).strip()[:320]


def _kind(exc: Exception) -> str:
    name = type(exc).__name__.removeprefix("Imap")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
