"""The access audit: an append-only record of who was shown a ticket's personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tiket.model.base import Base, utcnow


class AccessAudit(Base):
    """One showing of personal data. Rows are only ever inserted (tiket/privacy/audit.py).

    The requester is kept as an id without a foreign key, so the row outlives an erasure
    and holds no address itself.
    """

    __tablename__ = "access_audit"
    __table_args__ = (
        Index("ix_access_audit_ticket", "ticket_number", "created_at"),
        Index("ix_access_audit_requester", "requester_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    ticket_number: Mapped[str | None] = mapped_column(String(16))
    requester_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
