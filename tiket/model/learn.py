"""What tiket learned from history: solutions (the knowledge base), offered suggestions, models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tiket.model.base import Base, JSONType, utcnow


class SolutionSource:
    MARKED = "marked"  # `#solution …` or `tiket tickets solution`
    REPLY = "reply"  # the last public technician reply before resolution
    EDITED = "edited"  # `tiket kb edit`


class Solution(Base):
    """The text that solved one ticket, with the problem it solved (subject and first message)."""

    __tablename__ = "solutions"
    __table_args__ = (Index("ix_solutions_updated_at", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    problem: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default=SolutionSource.REPLY)
    hidden: Mapped[bool] = mapped_column(default=False)
    author: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every change moves this forward: daemons refresh their index from rows changed since.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuggestionOutcome:
    OFFERED = "offered"
    HELPED = "helped"  # the requester named it ("selesai 2") or quoted it
    ACCEPTED = "accepted"  # a plain "selesai" after suggestions: the top one is credited


class Suggestion(Base):
    """A solution offered to a new ticket's requester, and whether it helped."""

    __tablename__ = "suggestions"
    __table_args__ = (UniqueConstraint("ticket_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    solution_id: Mapped[int] = mapped_column(
        ForeignKey("solutions.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int]
    score: Mapped[float]
    outcome: Mapped[str] = mapped_column(String(16), default=SuggestionOutcome.OFFERED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class LearnedModel(Base):
    """A trained classifier, serialised; the newest one is used by every daemon."""

    __tablename__ = "learned_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassifiedTicket(Base):
    """A ticket whose category the classifier chose: not evidence for the next training."""

    __tablename__ = "classified_tickets"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
