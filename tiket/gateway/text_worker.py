"""The loop that delivers queued SMS and WhatsApp texts through Twilio, and falls back to mail."""

from __future__ import annotations

import logging
from typing import Protocol

from tiket.config import Settings
from tiket.desk import Desk
from tiket.desk_texts import fall_back
from tiket.errors import PermanentError, TemporaryError
from tiket.gateway.workers import Loop
from tiket.model import OutboxMessage
from tiket.model.db import Database
from tiket.outbound import outbox, texts
from tiket.outbound.sms import RecipientOptedOut

log = logging.getLogger(__name__)


class TextSender(Protocol):
    def send(self, row: OutboxMessage) -> tuple[str, str]:
        """Hand one text over: the provider's id and status; raise Temporary/PermanentError."""
        ...


class TextDeliverer(Loop):
    def __init__(self, db: Database, settings: Settings, secret: bytes, sender: TextSender) -> None:
        super().__init__("text-deliverer", settings.worker.poll_seconds)
        self.db = db
        self.settings = settings
        self.secret = secret
        self.sender = sender
        # Texts the provider took whose mark failed (the database away): marked first next round,
        # never sent again when the lease runs out.
        self.unmarked: dict[int, tuple[OutboxMessage, str, str]] = {}

    def work(self) -> bool:
        for row_id, (row, sid, status) in list(self.unmarked.items()):
            outbox.mark_sent(self.db, row, sid, delivery_status=status)
            del self.unmarked[row_id]
        rows = outbox.claim(self.db, texts.TEXT_CHANNELS)
        for row in rows:
            if self.stopping:
                break
            self.deliver(row)
        return bool(rows)

    def deliver(self, row: OutboxMessage) -> None:
        cfg = self.settings.outbound
        if not outbox.renew(self.db, row):
            return  # a slow round: past its lease, another worker took the row
        try:
            sid, status = self.sender.send(row)
        except (TemporaryError, PermanentError) as exc:
            if isinstance(exc, PermanentError) or row.attempts >= cfg.max_attempts:
                self._gave_up(row, str(exc), opted_out=isinstance(exc, RecipientOptedOut))
                return
            outbox.mark_failed(
                self.db,
                row,
                str(exc),
                permanent=False,
                base=cfg.retry_base_seconds,
                ceiling=cfg.retry_max_seconds,
                max_attempts=cfg.max_attempts,
            )
            return
        self.unmarked[row.id] = (row, sid, status)
        held = outbox.mark_sent(self.db, row, sid, delivery_status=status)
        del self.unmarked[row.id]
        if not held:
            return
        log.info(
            "action=texted outbox=%d kind=%s to=%s sid=%s", row.id, row.kind, row.recipient, sid
        )

    def _gave_up(self, row: OutboxMessage, why: str, *, opted_out: bool) -> None:
        """Failed for good: mark it, honour an opt-out and fall back, in one transaction."""
        with self.db.session() as session:
            if not outbox.give_up(session, row, why):
                return  # the worker that holds the row now decides what happens to it
            if opted_out:
                texts.opt_out(session, row.recipient, "twilio-21610")
            result = fall_back(Desk(session, self.settings, self.secret), row, why)
        log.warning(
            "action=text_failed outbox=%d to=%s attempts=%d error=%s fallback=%s",
            row.id,
            row.recipient,
            row.attempts,
            why,
            result,
        )
