"""What the pipeline's stages may ask the database: the Lookup protocol over one session."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tiket.config import LearnSettings, Settings
from tiket.errors import TemporaryError
from tiket.inbound.store import mail_key_prefix
from tiket.learn import suggestions
from tiket.memo import Memo
from tiket.model import (
    OPEN_STATUSES,
    Category,
    InboundMessage,
    InboundState,
    MessageRef,
    Requester,
    Team,
    Technician,
    TechnicianAddress,
    Ticket,
    TicketShare,
    team_members,
)
from tiket.rules import book
from tiket.rules.context import Similar, TicketRef
from tiket.rules.ruleset import RuleSpec


class DbLookup:
    """The read-only questions of the pipeline, answered from the current transaction."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        secret: bytes,
        memo: Memo | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self._secret = secret
        self._memo = memo or Memo()

    def secret(self) -> bytes:
        return self._secret

    def ticket_by_number(self, number: str) -> TicketRef | None:
        ticket = self.session.scalar(select(Ticket).where(Ticket.number == number))
        return _ref(ticket) if ticket else None

    def ticket_by_message_ids(self, message_ids: tuple[str, ...]) -> tuple[TicketRef, str] | None:
        wanted = [m for m in message_ids if m][:50]
        if not wanted:
            return None
        found = self._by_message_ids(wanted)
        if found is None and self._answers_a_queued_mail(wanted):
            raise TemporaryError("the mail this one answers is not processed yet")
        if found is None:  # done by another worker since the first look: its ids came with it
            found = self._by_message_ids(wanted)
        return found

    def _by_message_ids(self, wanted: list[str]) -> tuple[TicketRef, str] | None:
        rows = self.session.execute(
            select(MessageRef.message_id, MessageRef.ticket_id, MessageRef.recipient).where(
                MessageRef.message_id.in_(wanted)
            )
        ).all()
        by_id = {row.message_id: row for row in rows}
        # In-Reply-To first, then References newest first: prefer the direct parent.
        for message_id in wanted:
            row = by_id.get(message_id)
            if row is not None:
                ticket = self.session.get(Ticket, row.ticket_id)
                if ticket is not None:
                    return _ref(ticket), row.recipient
        return None

    def _answers_a_queued_mail(self, message_ids: list[str]) -> bool:
        """Is a mail these Message-IDs name still queued, here or in another worker's hands?

        Its ticket and Message-ID are committed together when it is done; threading the answer
        before then would open a second ticket for one conversation.
        """
        mine = [
            obj.id for obj in self.session.identity_map.values() if isinstance(obj, InboundMessage)
        ]
        prefixes = [mail_key_prefix(message_id) for message_id in message_ids]
        pending = self.session.scalar(
            select(InboundMessage.id)
            .where(InboundMessage.state == InboundState.QUEUED)
            .where(or_(*(InboundMessage.idempotency_key.startswith(p) for p in prefixes)))
            .where(InboundMessage.id.not_in(mine))
            .limit(1)
        )
        return pending is not None

    def technician_id(self, address: str) -> int | None:
        return self._memo.get("technicians", self._technician_ids).get(address.lower())

    def _technician_ids(self) -> dict[str, int]:
        """Every technician's address (their own, then their others) → their id, read once a
        batch: most mail is not from a technician, and each would otherwise cost two queries."""
        ids: dict[str, int] = {}
        others = select(TechnicianAddress.address, TechnicianAddress.technician_id)
        for address, technician_id in self.session.execute(others):
            ids[address] = technician_id
        for address, technician_id in self.session.execute(select(Technician.email, Technician.id)):
            ids[address] = technician_id
        return ids

    def _team_ids(self, technician_id: int) -> set[int]:
        return set(
            self.session.scalars(
                select(team_members.c.team_id).where(team_members.c.technician_id == technician_id)
            )
        )

    def technician_may_act(self, technician_id: int, ticket: TicketRef) -> bool:
        """A member of the team that owns the ticket, or of a team it is shared with."""
        if ticket.team_id is None:
            return True
        teams = self._team_ids(technician_id)
        shared = set(
            self.session.scalars(
                select(TicketShare.team_id).where(TicketShare.ticket_id == ticket.id)
            )
        )
        return bool(teams & ({ticket.team_id} | shared))

    def technician_recipients(self, technician_id: int) -> tuple[str, ...]:
        technician = self.session.get(Technician, technician_id)
        if technician is None:
            return ()
        extra = self.session.scalars(
            select(TechnicianAddress.address).where(
                TechnicianAddress.technician_id == technician_id
            )
        )
        return (
            technician.email,
            *extra,
            *(team.mailbox.lower() for team in technician.teams),
        )

    def technician_audiences(self, technician_id: int) -> tuple[str, ...]:
        return (f"p{technician_id}", *(f"t{team_id}" for team_id in self._team_ids(technician_id)))

    def rules(self) -> list[RuleSpec]:
        return self._memo.get(("rules", ""), lambda: book.specs(self.session))

    def team_exists(self, name: str) -> bool:
        return self.session.scalar(select(Team.id).where(Team.name == name)) is not None

    def trusted_authserv_ids(self) -> tuple[str, ...]:
        return self.settings.mail.trusted_authserv_ids

    def own_addresses(self) -> tuple[str, ...]:
        return tuple({self.settings.mail.address.lower(), self.settings.from_address.lower()})

    def category_team(self, slug: str) -> str | None:
        return self._memo.get(("category_team", slug), lambda: self._category_team(slug))

    def _category_team(self, slug: str) -> str | None:
        return self.session.scalar(
            select(Team.name)
            .join(Category, Category.team_id == Team.id)
            .where(Category.slug == slug)
        )

    def close_keywords(self) -> tuple[str, ...]:
        return self.settings.mail.close_keywords

    def phone_requester_id(self, phone: str) -> int | None:
        return self.session.scalar(select(Requester.id).where(Requester.phone == phone))

    def open_tickets_of_phone(self, phone: str) -> tuple[TicketRef, ...]:
        tickets = self.session.scalars(
            select(Ticket)
            .join(Requester, Requester.id == Ticket.requester_id)
            .where(Requester.phone == phone, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(20)
        )
        return tuple(_ref(ticket) for ticket in tickets)

    def learn_settings(self) -> LearnSettings:
        return self.settings.learn

    def similar_solved(self, text: str, limit: int) -> tuple[Similar, ...]:
        return suggestions.similar_solved(self.session, self.settings, text, limit)

    def predict_category(self, text: str) -> tuple[str, float] | None:
        return suggestions.predict_category(self.session, self.settings, text)


def _ref(ticket: Ticket) -> TicketRef:
    seen = 0
    while ticket.merged_into is not None and seen < 10:  # a merged ticket lives on in its target
        ticket = ticket.merged_into
        seen += 1
    return TicketRef(ticket.id, ticket.number, ticket.status, ticket.requester_id, ticket.team_id)
