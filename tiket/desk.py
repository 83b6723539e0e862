"""The verbs on tickets: the one place that changes them, writing history, events and answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from tiket import survey
from tiket.answers import STATUS_LABELS, Actor, Answers
from tiket.errors import Conflict, NotFound
from tiket.ids import new_ticket_number
from tiket.inbound.parse import Attachment as ParsedAttachment
from tiket.learn import solutions
from tiket.model import (
    Attachment,
    Category,
    Direction,
    Entry,
    EntryKind,
    Requester,
    Status,
    Team,
    Technician,
    TechnicianAddress,
    Ticket,
    blobs,
    utcnow,
)
from tiket.model.seed import DEFAULT_TEAM, FALLBACK_CATEGORY

__all__ = ["STATUS_LABELS", "Actor", "Desk"]


class Desk(Answers):
    """Ticket verbs inside one transaction (the caller's session)."""

    # -- finding things -------------------------------------------------------------------

    def ticket(self, number: str) -> Ticket:
        ticket = self.session.scalar(select(Ticket).where(Ticket.number == number.upper()))
        if ticket is None:
            raise NotFound(f"no ticket {number}")
        return ticket

    def team(self, name: str) -> Team:
        return self._memo.get(("desk.team", name.lower()), lambda: self._team(name))

    def _team(self, name: str) -> Team:
        team = self.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
        if team is None:
            raise NotFound(f"no team {name!r}; `tiket teams list` shows the teams")
        return team

    def category(self, slug: str) -> Category | None:
        return self._memo.get(
            ("desk.category", slug),
            lambda: self.session.scalar(select(Category).where(Category.slug == slug)),
        )

    def requester_by_email(self, email: str, name: str = "") -> Requester:
        email = email.lower()
        requester = self.session.scalar(select(Requester).where(Requester.email == email))
        if requester is None:
            requester = Requester(email=email, name=name)
            self.session.add(requester)  # inserted with the ticket that needs it
        elif name and not requester.name:
            requester.name = name
        return requester

    def requester_by_phone(self, phone: str, name: str = "") -> Requester:
        requester = self.session.scalar(select(Requester).where(Requester.phone == phone))
        if requester is None:
            requester = Requester(phone=phone, name=name)
            self.session.add(requester)
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
        self.opened(ticket)
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
        self.entry_added(
            ticket,
            message_id=message_id,
            channel=channel,
            inbound=direction == Direction.IN and kind == EntryKind.MESSAGE,
        )
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
        streamed: list[tuple[Attachment, bytes]] = []
        for item in attachments:
            stored = Attachment(
                filename=item.filename[:500],
                content_type=item.content_type[:200],
                size=len(item.data),
            )
            if blobs.streams(self.session, item.data):
                stored.data = blobs.placeholder(len(item.data))
                streamed.append((stored, item.data))
            else:
                stored.data = item.data
            entry.attachments.append(stored)
        self.session.add(entry)
        if ticket.id not in self._opened:  # one opened here is as new as this entry
            ticket.updated_at = utcnow()
        if streamed:
            self.session.flush()  # the rows exist: now their data, a piece at a time
            for stored, data in streamed:
                blobs.fill(self.session, Attachment.__tablename__, "data", stored.id, data)
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
        self.tell_watchers(ticket, "reply", body=body, technician_name=author.name or "Helpdesk")
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
        solutions.remember(self.session, ticket)
        self.tell_requester(ticket, "closed", by_requester=by_requester, body=body)
        survey.invite(self, ticket)  # once per ticket: nothing when resolve already sent it
        if by_requester:
            self.tell_team(ticket, "closed by the requester", actor, body)

    def reopen(self, ticket: Ticket, actor: Actor) -> None:
        if ticket.is_open:
            raise Conflict(f"{ticket.number} is not closed")
        ticket.closed_at = None
        ticket.resolved_at = None
        self._set_status(ticket, Status.OPEN, actor)
        solutions.withdraw(self.session, ticket)

    def _set_status(self, ticket: Ticket, status: Status, actor: Actor) -> None:
        if ticket.status == status:
            return
        self.event(ticket, "status", actor, old=ticket.status, new=str(status))
        ticket.status = status

    def technician(self, address: str) -> Technician | None:
        address = address.lower()
        found = self.session.scalar(select(Technician).where(Technician.email == address))
        if found is None:
            found = self.session.scalar(
                select(Technician)
                .join(TechnicianAddress, TechnicianAddress.technician_id == Technician.id)
                .where(TechnicianAddress.address == address)
            )
        return found
