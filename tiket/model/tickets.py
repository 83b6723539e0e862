"""Tickets and their history: entries, attachments, events and the Message-IDs that thread them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tiket.model.base import Base, JSONType, utcnow
from tiket.model.people import Category, Requester, Team, Technician


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    WEB = "web"
    CLI = "cli"


class EntryKind(enum.StrEnum):
    MESSAGE = "message"  # from the requester (or a watcher)
    REPLY = "reply"  # public answer from a technician
    NOTE = "note"  # internal, never sent to the requester
    EVENT = "event"  # what the system did, in words


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    INTERNAL = "internal"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_team", "status", "team_id"),
        Index("ix_tickets_requester_status", "requester_id", "status"),
        Index("ix_tickets_created_at", "created_at"),
        # Covering indexes for the reports (migration 0004): aggregates never touch the table.
        Index("ix_tickets_report_answered", "first_response_at", "team_id"),
        Index(
            "ix_tickets_report_created",
            "created_at",
            "team_id",
            "category_id",
            "channel",
            "requester_id",
        ),
        Index("ix_tickets_report_resolved", "resolved_at", "team_id"),
        Index(
            "ix_tickets_report_closed",
            "closed_at",
            "team_id",
            "category_id",
            "channel",
            "requester_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    subject: Mapped[str] = mapped_column(String(998), default="")
    status: Mapped[str] = mapped_column(String(16), default=Status.NEW)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    channel: Mapped[str] = mapped_column(String(16), default=Channel.EMAIL)
    language: Mapped[str] = mapped_column(String(8), default="id")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    category: Mapped[Category | None] = relationship()
    team: Mapped[Team | None] = relationship()
    requester: Mapped[Requester] = relationship()
    assignee: Mapped[Technician | None] = relationship()
    merged_into: Mapped[Ticket | None] = relationship(
        remote_side="Ticket.id", foreign_keys=[merged_into_id]
    )
    follows: Mapped[Ticket | None] = relationship(
        remote_side="Ticket.id", foreign_keys=[follows_id]
    )
    entries: Mapped[list[Entry]] = relationship(
        back_populates="ticket", order_by="Entry.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Entry(Base):
    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_address: Mapped[str] = mapped_column(String(320), default="")
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"))
    subject: Mapped[str] = mapped_column(String(998), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    quoted: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(998))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    auto_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="entries")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="entry", order_by="Attachment.id", cascade="all, delete-orphan"
    )


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)

    entry: Mapped[Entry] = relationship(back_populates="attachments")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_kind_created_at", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(320), default="system")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MessageRef(Base):
    """Every Message-ID we received or sent, and the ticket it belongs to."""

    __tablename__ = "message_refs"

    message_id: Mapped[str] = mapped_column(String(998), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
