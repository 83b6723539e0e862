"""Routing rules as rows, and who else is on a ticket: sharing teams, watchers, extra addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tiket.model.base import Base, JSONType, utcnow


class Rule(Base):
    """An ordered routing rule: when `match` holds, `actions` apply; `stop` ends evaluation."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(default=0, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    match: Mapped[dict[str, Any]] = mapped_column(JSONType)
    actions: Mapped[dict[str, Any]] = mapped_column(JSONType)
    stop: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketShare(Base):
    """Another team that may see, answer and act on a ticket it does not own."""

    __tablename__ = "ticket_shares"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Watcher(Base):
    """An address that receives a ticket's public replies (a requester's Cc, or added by a rule)."""

    __tablename__ = "watchers"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TechnicianAddress(Base):
    """Further sender addresses of a technician (the primary one is Technician.email)."""

    __tablename__ = "technician_addresses"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    technician_id: Mapped[int] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), index=True
    )
