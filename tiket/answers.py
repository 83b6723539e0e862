"""Answers: the templated mail and texts the desk queues, capped, threaded and signed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateNotFound
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.ids import new_message_id, reply_address
from tiket.memo import Memo
from tiket.model import (
    Entry,
    Event,
    OutboxMessage,
    OutboxState,
    Status,
    Team,
    Ticket,
    Watcher,
    utcnow,
)
from tiket.outbound import limits, texts
from tiket.outbound.compose import compose_email
from tiket.outbound.outbox import enqueue
from tiket.outbound.templates import render

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


@dataclass
class _Opened:
    """What this desk knows of a ticket it opened in this transaction: every entry and answer
    on it went through here, so none of it needs asking the database."""

    refs: list[str] = field(default_factory=list)  # its entries' Message-IDs, in order
    in_channel: str | None = None  # the channel of the requester's latest message on it
    automatic: int = 0  # automatic mails queued on it


@dataclass(frozen=True)
class Actor:
    """Who does something: a technician, the requester, an admin at the CLI, or the system."""

    name: str
    address: str = ""
    technician_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


class Answers:
    """The outgoing half of the desk: what goes to requesters, watchers, teams and people."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        secret: bytes,
        memo: Memo | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.secret = secret
        self._refs: dict[int, list[str]] = {}  # ticket id → thread references, until an entry
        self._opened: dict[int, _Opened] = {}  # ticket id → what we know of one opened here
        self._memo = memo or Memo()  # teams and categories, shared by a processing batch

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
        opened = self._opened.get(ticket.id)
        if opened is not None:
            channel = texts.reply_channel(ticket, opened.in_channel)
        else:
            channel = texts.answer_channel(self.session, ticket)
        if channel in texts.TEXT_CHANNELS:
            values = {**self._values(ticket), **values}
            reason = texts.queue_text(
                self.session,
                self.settings,
                ticket_id=ticket.id,
                kind=template,
                channel=channel,
                phone=requester.phone or "",
                body=texts.render_answer(template, ticket.language, values),
                variables={"1": ticket.number, "2": values["status"], "3": values["status_url"]},
            )
            if reason is None:
                self._queued(ticket, template)
                return
            # No text possible (opted out, not configured): mail, when we have an address.
            self.event(ticket, "text_not_sent", Actor.system(), template=template, reason=reason)
        if requester.email and texts.has_mail_template(template, ticket.language):
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

    def tell_team(
        self, ticket: Ticket, what: str, author: Actor, body: str, *, team: Team | None = None
    ) -> None:
        """Notify the owning team (or `team`: one it is shared or handed to)."""
        team = team or ticket.team
        if team is None:
            return
        rendered = render(
            "team_update",
            ticket.language,
            **{**self._values(ticket), "what": what, "author": _who(author), "body": body},
        )
        self._email(
            ticket,
            kind="team_update",
            to=team.mailbox,
            subject=rendered.subject,
            body=rendered.body,
            auto=True,
            audience=f"t{team.id}",
        )

    def answer(self, ticket: Ticket, name: str) -> None:
        """Auto-answer with a named template (`answers/NAME.txt`, the office's own first)."""
        requester = ticket.requester
        if not requester.email:
            self.event(ticket, "not_sent", Actor.system(), template=name, reason="no email address")
            return
        try:
            rendered = render(
                f"answers/{name}",
                ticket.language,
                directory=str(self.settings.var_dir / "templates"),
                **self._values(ticket),
            )
        except TemplateNotFound:
            self.event(
                ticket,
                "not_sent",
                Actor.system(),
                template=name,
                reason=f"no template answers/{name}.txt",
            )
            return
        self._email(
            ticket,
            kind=f"answer_{name}",
            to=requester.email,
            subject=rendered.subject,
            body=rendered.body,
            auto=True,
        )
        self.event(ticket, "answered", Actor.system(), template=name)

    def tell_watchers(self, ticket: Ticket, template: str, **values: Any) -> None:
        """Public replies go to the watchers too (a requester's Cc, or added by a rule)."""
        addresses = self.session.scalars(
            select(Watcher.address).where(Watcher.ticket_id == ticket.id).order_by(Watcher.address)
        )
        rendered = render(template, ticket.language, **{**self._values(ticket), **values})
        for address in addresses:
            self._email(
                ticket,
                kind=f"{template}_watcher",
                to=address,
                subject=rendered.subject,
                body=rendered.body,
                auto=template != "reply",
            )

    def tell_team_new(self, ticket: Ticket, body: str, **values: Any) -> None:
        if ticket.team is None:
            return
        requester = ticket.requester
        who = f"{requester.name} <{requester.email}>" if requester.name else requester.email or ""
        rendered = render(
            "team_new",
            ticket.language,
            **{
                **self._values(ticket),
                "requester": who or requester.phone or "-",
                "body": body,
                **values,
            },
        )
        self._email(
            ticket,
            kind="team_new",
            to=ticket.team.mailbox,
            subject=rendered.subject,
            body=rendered.body,
            auto=True,
            audience=f"t{ticket.team.id}",
        )

    def tell_person(
        self, ticket: Ticket, template: str, to: str, *, audience: str = "", **values: Any
    ) -> None:
        rendered = render(template, ticket.language, **{**self._values(ticket), **values})
        self._email(
            ticket,
            kind=template,
            to=to,
            subject=rendered.subject,
            body=rendered.body,
            auto=True,
            audience=audience,
        )

    def _email(
        self,
        ticket: Ticket,
        *,
        kind: str,
        to: str,
        subject: str,
        body: str,
        auto: bool,
        audience: str = "",
    ) -> None:
        held = None
        opened = self._opened.get(ticket.id)
        if auto and not audience.startswith("t"):  # team mailboxes are never capped
            held = limits.hold_back(
                self.session,
                self.settings.limits,
                recipient=to,
                ticket_id=ticket.id,
                on_ticket=opened.automatic if opened else None,
            )
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
            reply_to=reply_address(
                self.settings.mail.address, ticket.number, self.secret, audience
            ),
            in_reply_to=refs[-1] if refs else None,
            references=refs,
            auto_submitted="auto-replied" if auto else None,
            extra_headers=[("X-Tiket-Ticket", ticket.number)],
        )
        row = enqueue(
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
        self._queued(ticket, kind)
        if held is not None:
            self._hold(ticket, row, held)

    def _hold(self, ticket: Ticket, row: OutboxMessage, reason: str) -> None:
        """Keep the held mail as a record, never send it, and tell the admin once a day."""
        row.state = OutboxState.SUPPRESSED
        row.last_error = reason
        self.event(
            ticket,
            "held_back",
            Actor.system(),
            recipient=row.recipient,
            template=row.kind,
            reason=reason,
        )
        admin = self.settings.limits.admin_address
        if admin and limits.should_alert(self.session, row.recipient):
            self.event(
                ticket, "storm_alert", Actor.system(), recipient=row.recipient, reason=reason
            )
            self.tell_person(
                ticket, "storm_alert", admin, audience="p0", recipient=row.recipient, reason=reason
            )

    def forget_threads(self) -> None:
        """Entries were added or moved: thread references must be read again."""
        self._refs.clear()
        self._opened.clear()

    def _queued(self, ticket: Ticket, kind: str) -> None:
        """Count what `limits.hold_back` counts for a ticket opened here: all but personal."""
        opened = self._opened.get(ticket.id)
        if opened is not None and kind not in limits.PERSONAL_KINDS:
            opened.automatic += 1

    def opened(self, ticket: Ticket) -> None:
        """`ticket` was just created here: it has no entries and no answers yet."""
        self._opened[ticket.id] = _Opened()

    def entry_added(
        self, ticket: Ticket, *, message_id: str | None, channel: str, inbound: bool
    ) -> None:
        """Keep what we know of a ticket opened here; forget the thread of any other."""
        opened = self._opened.get(ticket.id)
        if opened is None:
            self._refs.clear()
            return
        if message_id:
            opened.refs.append(message_id)
        if inbound:
            opened.in_channel = channel

    def _thread_refs(self, ticket: Ticket) -> list[str]:
        """The first and the last Message-ID of the ticket's history, for References."""
        opened = self._opened.get(ticket.id)
        if opened is not None:
            return _ends(opened.refs)
        cached = self._refs.get(ticket.id)
        if cached is None:
            cached = self._refs[ticket.id] = self._read_thread_refs(ticket)
        return cached

    def _read_thread_refs(self, ticket: Ticket) -> list[str]:
        ids = self.session.scalars(
            select(Entry.message_id)
            .where(Entry.ticket_id == ticket.id, Entry.message_id.is_not(None))
            .order_by(Entry.id)
        ).all()
        return _ends([i for i in ids if i])


def _ends(refs: list[str]) -> list[str]:
    """The first and the last of a thread's Message-IDs (the one, or none)."""
    return [refs[0], refs[-1]] if len(refs) > 1 else list(refs)


def _who(actor: Actor) -> str:
    if actor.name and actor.address:
        return f"{actor.name} <{actor.address}>"
    return actor.name or actor.address or "-"
