"""What SMS and WhatsApp need stored: numbers that opted out, and media of inbound texts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tiket.model.base import Base, utcnow


class TextOptOut(Base):
    """A phone number (E.164) that said STOP/BERHENTI, or that Twilio refused with 21610."""

    __tablename__ = "text_opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # keyword, twilio-21610
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMedia(Base):
    """One media item of an inbound text, fetched from Twilio before the webhook answered."""

    __tablename__ = "inbound_media"
    __table_args__ = (UniqueConstraint("inbound_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(default=0)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)  # why it was not fetched
