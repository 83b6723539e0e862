"""The database: typed SQLAlchemy models, the engine and session, and migrations."""

from tiket.model.base import Base, utcnow
from tiket.model.learn import ClassifiedTicket, LearnedModel, Solution, Suggestion
from tiket.model.mailboxes import MailboxState
from tiket.model.people import Category, Requester, Team, Technician, team_members
from tiket.model.privacy import AccessAudit
from tiket.model.queues import InboundMessage, InboundState, OutboxMessage, OutboxState
from tiket.model.reports import (
    Holiday,
    JobRun,
    JobSend,
    SlaTarget,
    TicketMetric,
    TicketNotice,
)
from tiket.model.routing import Rule, TechnicianAddress, TicketShare, Watcher
from tiket.model.suppression import Suppression
from tiket.model.texts import InboundMedia, TextOptOut
from tiket.model.tickets import (
    OPEN_STATUSES,
    Attachment,
    Channel,
    Direction,
    Entry,
    EntryKind,
    Event,
    MessageRef,
    Status,
    Ticket,
)
from tiket.model.web import Survey

__all__ = [
    "OPEN_STATUSES",
    "AccessAudit",
    "Attachment",
    "Base",
    "Category",
    "Channel",
    "ClassifiedTicket",
    "Direction",
    "Entry",
    "EntryKind",
    "Event",
    "Holiday",
    "InboundMedia",
    "InboundMessage",
    "InboundState",
    "JobRun",
    "JobSend",
    "LearnedModel",
    "MailboxState",
    "MessageRef",
    "OutboxMessage",
    "OutboxState",
    "Requester",
    "Rule",
    "SlaTarget",
    "Solution",
    "Status",
    "Suggestion",
    "Suppression",
    "Survey",
    "Team",
    "Technician",
    "TechnicianAddress",
    "TextOptOut",
    "Ticket",
    "TicketMetric",
    "TicketNotice",
    "TicketShare",
    "Watcher",
    "team_members",
    "utcnow",
]
