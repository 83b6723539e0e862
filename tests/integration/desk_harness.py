"""An in-process helpdesk for integration tests: accept, process, and read the outbox."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from tiket.config import Settings
from tiket.inbound.store import Arrival, InboundStore, mail_key
from tiket.model import InboundMessage, OutboxMessage, Technician, Ticket
from tiket.model.db import Database
from tiket.processing import claim_batch, process_one
from tiket.views import ticket_dict


class Harness:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.secret = settings.mail.secret.encode()
        self.store = InboundStore(db)
        self._seen_outbox = 0

    def deliver(self, raw: bytes, rcpts: tuple[str, ...] = ("helpdesk@tiket.test",)) -> list[str]:
        """Accept like the SMTP listener, then process the queue; returns the outcomes."""
        self.store.accept(
            Arrival(raw=raw, channel="email", idempotency_key=mail_key(raw), envelope_to=rcpts)
        )
        return self.process()

    def process(self) -> list[str]:
        results = []
        for inbound_id in claim_batch(self.db, 100):
            outcome = process_one(self.db, self.settings, self.secret, inbound_id)
            if outcome is not None:
                results.append(outcome)
        return results

    def outbox(self, **where: Any) -> list[OutboxMessage]:
        with self.db.session() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            for key, value in where.items():
                query = query.where(getattr(OutboxMessage, key) == value)
            return list(session.scalars(query))

    def new_mail(self) -> list[EmailMessage]:
        """Outbox messages queued since the last call, parsed."""
        rows = self.outbox()
        fresh = rows[self._seen_outbox :]
        self._seen_outbox = len(rows)
        return [
            email.message_from_bytes(row.payload or b"", policy=email.policy.default)  # type: ignore[misc]
            for row in fresh
        ]

    def ticket(self, number: str | None = None) -> dict[str, Any]:
        with self.db.session() as session:
            query = select(Ticket).order_by(Ticket.id.desc())
            if number:
                query = query.where(Ticket.number == number)
            ticket = session.scalars(query).first()
            assert ticket is not None, "no ticket"
            return ticket_dict(session, ticket)

    def ticket_count(self) -> int:
        with self.db.session() as session:
            return len(session.scalars(select(Ticket.id)).all())

    def inbound(self) -> list[InboundMessage]:
        with self.db.session() as session:
            return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))

    def add_technician(self, address: str, team: str = "support", name: str = "Wayan") -> None:
        from tiket.model import Team

        with self.db.session() as session:
            team_row = session.scalars(select(Team).where(Team.name == team)).one()
            session.add(Technician(email=address, name=name, teams=[team_row]))
