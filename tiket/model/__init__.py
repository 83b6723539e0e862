"""The database: typed SQLAlchemy models, the engine and session, and migrations."""

from tiket.model.base import Base, utcnow
from tiket.model.people import Category, Requester, Team, Technician, team_members
from tiket.model.queues import InboundMessage, InboundState, OutboxMessage, OutboxState
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

__all__ = [
    "OPEN_STATUSES",
    "Attachment",
    "Base",
    "Category",
    "Channel",
    "Direction",
    "Entry",
    "EntryKind",
    "Event",
    "InboundMessage",
    "InboundState",
    "MessageRef",
    "OutboxMessage",
    "OutboxState",
    "Requester",
    "Status",
    "Team",
    "Technician",
    "Ticket",
    "team_members",
    "utcnow",
]
