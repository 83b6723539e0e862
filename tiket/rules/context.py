"""The values that flow through the pipeline: the message, and what each stage decided and why."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

from tiket.config import LearnSettings
from tiket.inbound.parse import Attachment, ParsedMessage
from tiket.rules.detect import Bounce
from tiket.rules.ruleset import RuleSpec


@dataclass(frozen=True)
class Message:
    """One inbound message, parsed, in the terms every channel shares."""

    inbound_id: int
    channel: str
    sender: str  # an email address or a phone number, lowercased
    sender_name: str
    recipients: tuple[str, ...]  # envelope and header recipients, lowercased
    subject: str
    text: str  # the whole plain text
    visible: str  # the text without quotes and signature
    quoted: str
    message_id: str | None = None
    refs: tuple[str, ...] = ()  # In-Reply-To then References
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    parsed: ParsedMessage | None = None
    source_team: str | None = None  # the team of the mailbox it came through, if any


@dataclass(frozen=True)
class Command:
    name: str  # without the '#', lowercased
    argument: str = ""


@dataclass(frozen=True)
class Decision:
    stage: str
    outcome: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "outcome": self.outcome, "detail": self.detail}


@dataclass(frozen=True)
class Similar:
    """A solved ticket like this one, and the solution that solved it."""

    solution_id: int
    number: str
    score: float
    solution: str


@dataclass(frozen=True)
class TicketRef:
    id: int
    number: str
    status: str
    requester_id: int
    team_id: int | None


@dataclass(frozen=True)
class Context:
    """The message plus every decision so far; stages return a new one, never mutate."""

    message: Message
    trace: tuple[Decision, ...] = ()
    auto_reason: str | None = None
    bounce: Bounce | None = None
    ticket: TicketRef | None = None
    thread_via: str | None = None
    authenticated: bool = False  # the thread proves the sender got a message from us
    technician_id: int | None = None
    commands: tuple[Command, ...] = ()
    body: str = ""  # the visible text without command lines
    close_requested: bool = False
    category: str | None = None
    team: str | None = None
    priority: str = "normal"
    watchers: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()
    spam: bool = False
    answer: str | None = None  # a template to answer with
    suggestions: tuple[Similar, ...] = ()  # solved tickets like this one (tiket/learn)
    extra: dict[str, Any] = field(default_factory=dict)

    def decide(self, stage: str, outcome: str, detail: str = "", **changes: Any) -> Context:
        decision = Decision(stage, outcome, detail)
        return dataclasses.replace(self, trace=(*self.trace, decision), **changes)

    @property
    def is_technician(self) -> bool:
        return self.technician_id is not None


class Lookup(Protocol):
    """What the stages may ask the database: read-only questions."""

    def ticket_by_number(self, number: str) -> TicketRef | None: ...

    def ticket_by_message_ids(self, message_ids: tuple[str, ...]) -> tuple[TicketRef, str] | None:
        """The ticket of the first known Message-ID, and to whom we sent it ('' if received)."""
        ...

    def technician_id(self, address: str) -> int | None: ...

    def technician_may_act(self, technician_id: int, ticket: TicketRef) -> bool: ...

    def technician_recipients(self, technician_id: int) -> tuple[str, ...]:
        """Where mail to this technician may have gone: their address and their teams' mailboxes."""
        ...

    def technician_audiences(self, technician_id: int) -> tuple[str, ...]:
        """The audiences of signed addresses we give this technician: "p<id>", "t<team id>"."""
        ...

    def own_addresses(self) -> tuple[str, ...]: ...

    def category_team(self, slug: str) -> str | None: ...

    def close_keywords(self) -> tuple[str, ...]: ...

    def rules(self) -> list[RuleSpec]:
        """The rule book, in order."""
        ...

    def team_exists(self, name: str) -> bool: ...

    def trusted_authserv_ids(self) -> tuple[str, ...]: ...

    def phone_requester_id(self, phone: str) -> int | None:
        """The requester with this E.164 number."""
        ...

    def open_tickets_of_phone(self, phone: str) -> tuple[TicketRef, ...]:
        """The open tickets of the requester with this E.164 number, newest first."""
        ...

    def similar_solved(self, text: str, limit: int) -> tuple[Similar, ...]:
        """Solved tickets with a visible solution, most similar first (cosine score)."""
        ...

    def learn_settings(self) -> LearnSettings: ...

    def predict_category(self, text: str) -> tuple[str, float] | None:
        """The trained classifier's category and its probability; None without a model."""
        ...

    def secret(self) -> bytes: ...
