"""What the public pages store: one satisfaction survey per ticket, and its rating."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tiket.model.base import Base, utcnow


class Survey(Base):
    """The invitation sent after resolution; the rating lives here, keyed by the ticket."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # how the invitation went: email, sms...
    phone: Mapped[str | None] = mapped_column(String(32), index=True)  # for a text reply 1-5
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    rating: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(16))  # web, sms, whatsapp
