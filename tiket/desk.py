"""The verbs on tickets: the one place that changes them, writing history, events and answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.errors import Conflict, NotFound
from tiket.ids import new_message_id, new_ticket_number, reply_address
from tiket.inbound.parse import Attachment as ParsedAttachment
from tiket.model import (
    Attachment,
    Category,
    Channel,
    Direction,
    Entry,
    EntryKind,
    Event,
    Requester,
    Status,
    Team,
    Technician,
    Ticket,
    utcnow,
)
from tiket.model.seed import DEFAULT_TEAM, FALLBACK_CATEGORY
from tiket.outbound.compose import compose_email
from tiket.outbound.outbox import enqueue
from tiket.outbound.templates import render

log = logging.getLogger(__name__)

STATUS_LABELS = {
    "id": {
        Status.NEW: "baru",
        Status.OPEN: "sedang ditangani",
        Status.PENDING: "menunggu jawaban Anda",
        Status.RESOLVED: "terselesaikan",
        Status.CLOSED: "ditutup",
    },
    "en": {
        Status.NEW: "new",
        Status.OPEN: "in progress",
        Status.PENDING: "waiting for your answer",
        Status.RESOLVED: "resolved",
        Status.CLOSED: "closed",
    },
}


@dataclass(frozen=True)
class Actor:
    """Who does something: a technician, the requester, an admin at the CLI, or the system."""

    name: str
    address: str = ""
    technician_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


class Desk:
    """Ticket verbs inside one transaction (the caller's session)."""

    def __init__(self, session: Session, settings: Settings, secret: bytes) -> None:
        self.session = session
        self.settings = settings
        self.secret = secret

    # -- finding things -------------------------------------------------------------------

    def ticket(self, number: str) -> Ticket:
        ticket = self.session.scalar(select(Ticket).where(Ticket.number == number.upper()))
        if ticket is None:
            raise NotFound(f"no ticket {number}")
        return ticket

    def team(self, name: str) -> Team:
        team = self.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
        if team is None:
            raise NotFound(f"no team {name!r}; `tiket teams list` shows the teams")
        return team

    def category(self, slug: str) -> Category | None:
        return self.session.scalar(select(Category).where(Category.slug == slug))

    def requester_by_email(self, email: str, name: str = "") -> Requester:
        email = email.lower()
        requester = self.session.scalar(select(Requester).where(Requester.email == email))
        if requester is None:
            requester = Requester(email=email, name=name)
            self.session.add(requester)
            self.session.flush()
        elif name and not requester.name:
            requester.name = name
        return requester

    # -- verbs ----------------------------------------------------------------------------

    def open(
        self,
        *,
        requester: Requester,
        subject: str,
        channel: str,
        category: str | None,
        team: str | None,
        language: str,
        priority: str = "normal",
        trace: Sequence[dict[str, str]] = (),
    ) -> Ticket:
        cat = self.category(category or FALLBACK_CATEGORY)
        owner = self.team(team) if team else (cat.team if cat and cat.team else None)
        owner = owner or self.team(DEFAULT_TEAM)
        ticket = Ticket(
            number=self._free_number(),
            subject=(subject or "").strip()[:998] or "(no subject)",
            status=Status.NEW,
            priority=priority,
            channel=channel,
            language=language,
            category=cat,
            team=owner,
            requester=requester,
        )
        self.session.add(ticket)
        self.session.flush()
        self.event(
            ticket,
            "opened",
            Actor(requester.name, requester.email or requester.phone or ""),
            channel=channel,
            category=cat.slug if cat else None,
            team=owner.name,
            trace=list(trace),
        )
        return ticket

    def _free_number(self) -> str:
        while True:
            number = new_ticket_number()
            if self.session.scalar(select(Ticket.id).where(Ticket.number == number)) is None:
                return number

    def add_entry(
        self,
        ticket: Ticket,
        *,
        kind: str,
        channel: str,
        direction: str,
        author: Actor,
        body: str,
        subject: str = "",
        quoted: str = "",
        message_id: str | None = None,
        inbound_id: int | None = None,
        auto_reason: str | None = None,
        attachments: Sequence[ParsedAttachment] = (),
    ) -> Entry:
        entry = Entry(
            ticket=ticket,
            kind=kind,
            channel=channel,
            direction=direction,
            author_name=author.name,
            author_address=author.address,
            technician_id=author.technician_id,
            subject=subject[:998],
            body=body,
            quoted=quoted,
            message_id=message_id,
            inbound_id=inbound_id,
            auto_reason=auto_reason,
            created_at=utcnow(),
        )
        for item in attachments:
            entry.attachments.append(
                Attachment(
                    filename=item.filename[:500],
                    content_type=item.content_type[:200],
                    size=len(item.data),
                    data=item.data,
                )
            )
        self.session.add(entry)
        ticket.updated_at = utcnow()
        return entry

    def reply(self, ticket: Ticket, author: Actor, body: str, *, channel: str = "email") -> Entry:
        """A public answer: stored, then sent to the requester through their channel."""
        entry = self.add_entry(
            ticket,
            kind=EntryKind.REPLY,
            channel=channel,
            direction=Direction.OUT,
            author=author,
            body=body,
        )
        if ticket.first_response_at is None:
            ticket.first_response_at = utcnow()
        if ticket.status in (Status.NEW, Status.RESOLVED, Status.CLOSED):
            self._set_status(ticket, Status.OPEN, author)
        self.tell_requester(ticket, "reply", body=body, technician_name=author.name or "Helpdesk")
        return entry

    def note(self, ticket: Ticket, author: Actor, body: str, *, channel: str = "email") -> Entry:
        return self.add_entry(
            ticket,
            kind=EntryKind.NOTE,
            channel=channel,
            direction=Direction.INTERNAL,
            author=author,
            body=body,
        )

    def close(self, ticket: Ticket, actor: Actor, *, by_requester: bool, body: str = "") -> None:
        if ticket.status == Status.CLOSED:
            raise Conflict(f"{ticket.number} is already closed")
        now = utcnow()
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = now
        self._set_status(ticket, Status.CLOSED, actor)
        self.tell_requester(ticket, "closed", by_requester=by_requester, body=body)
        if by_requester:
            self.tell_team(ticket, "closed by the requester", actor, body)

    def reopen(self, ticket: Ticket, actor: Actor) -> None:
        if ticket.is_open:
            raise Conflict(f"{ticket.number} is not closed")
        ticket.closed_at = None
        ticket.resolved_at = None
        self._set_status(ticket, Status.OPEN, actor)

    def event(self, ticket: Ticket | None, kind: str, actor: Actor, **data: Any) -> Event:
        row = Event(
            ticket_id=ticket.id if ticket else None,
            kind=kind,
            actor=actor.address or actor.name,
            data=data,
            created_at=utcnow(),
        )
        self.session.add(row)
        return row

    def _set_status(self, ticket: Ticket, status: Status, actor: Actor) -> None:
        if ticket.status == status:
            return
        self.event(ticket, "status", actor, old=ticket.status, new=str(status))
        ticket.status = status

    # -- answers --------------------------------------------------------------------------

    def status_url(self, ticket: Ticket) -> str:
        return f"{self.settings.http.public_url.rstrip('/')}/status/{ticket.number}"

    def _values(self, ticket: Ticket) -> dict[str, Any]:
        lang = ticket.language
        return {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": STATUS_LABELS.get(lang, STATUS_LABELS["en"]).get(
                Status(ticket.status), ticket.status
            ),
            "category": ticket.category.name(lang) if ticket.category else "-",
            "team": ticket.team.title or ticket.team.name if ticket.team else "-",
            "status_url": self.status_url(ticket),
            "office": self.settings.mail.office_name,
            "requester_name": ticket.requester.name,
            "priority": ticket.priority,
            "channel": ticket.channel,
        }

    def tell_requester(self, ticket: Ticket, template: str, **values: Any) -> None:
        """Send the requester a templated answer through the channel they used."""
        requester = ticket.requester
        if ticket.channel in (Channel.EMAIL, Channel.WEB, Channel.CLI) and requester.email:
            rendered = render(template, ticket.language, **{**self._values(ticket), **values})
            self._email(
                ticket,
                kind=template,
                to=requester.email,
                subject=rendered.subject,
                body=rendered.body,
                auto=template != "reply",
            )
        else:
            self.event(
                ticket,
                "not_sent",
                Actor.system(),
                template=template,
                reason=f"no address for channel {ticket.channel}",
            )

    def tell_team(self, ticket: Ticket, what: str, author: Actor, body: str) -> None:
        if ticket.team is None:
            return
        rendered = render(
            "team_update",
            ticket.language,
            **{**self._values(ticket), "what": what, "author": _who(author), "body": body},
        )
        self._email(
            ticket,
            kind="team_update",
            to=ticket.team.mailbox,
            subject=rendered.subject,
            body=rendered.body,
            auto=True,
        )

    def tell_team_new(self, ticket: Ticket, body: str) -> None:
        if ticket.team is None:
            return
        requester = ticket.requester
        who = f"{requester.name} <{requester.email}>" if requester.name else requester.email or ""
        rendered = render(
            "team_new",
            ticket.language,
            **{**self._values(ticket), "requester": who or requester.phone or "-", "body": body},
        )
        self._email(
            ticket,
            kind="team_new",
            to=ticket.team.mailbox,
            subject=rendered.subject,
            body=rendered.body,
            auto=True,
        )

    def tell_person(self, ticket: Ticket, template: str, to: str, **values: Any) -> None:
        rendered = render(template, ticket.language, **{**self._values(ticket), **values})
        self._email(
            ticket, kind=template, to=to, subject=rendered.subject, body=rendered.body, auto=True
        )

    def _email(
        self, ticket: Ticket, *, kind: str, to: str, subject: str, body: str, auto: bool
    ) -> None:
        domain = self.settings.mail.address.rpartition("@")[2]
        message_id = new_message_id(domain)
        refs = self._thread_refs(ticket)
        payload = compose_email(
            sender=self.settings.from_address,
            sender_name=self.settings.mail.office_name,
            to=to,
            subject=subject,
            body=body,
            message_id=message_id,
            reply_to=reply_address(self.settings.mail.address, ticket.number, self.secret),
            in_reply_to=refs[-1] if refs else None,
            references=refs,
            auto_submitted="auto-replied" if auto else None,
            extra_headers=[("X-Tiket-Ticket", ticket.number)],
        )
        enqueue(
            self.session,
            ticket_id=ticket.id,
            kind=kind,
            channel="email",
            recipient=to,
            subject=subject,
            body=body,
            message_id=message_id,
            payload=payload,
        )

    def _thread_refs(self, ticket: Ticket) -> list[str]:
        ids = self.session.scalars(
            select(Entry.message_id)
            .where(Entry.ticket_id == ticket.id, Entry.message_id.is_not(None))
            .order_by(Entry.id)
        ).all()
        refs = [i for i in ids if i]
        return [refs[0], refs[-1]] if len(refs) > 1 else refs

    def technician(self, address: str) -> Technician | None:
        return self.session.scalar(select(Technician).where(Technician.email == address.lower()))


def _who(actor: Actor) -> str:
    if actor.name and actor.address:
        return f"{actor.name} <{actor.address}>"
    return actor.name or actor.address or "-"
