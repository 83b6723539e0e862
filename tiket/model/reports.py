"""Tables of scheduled work and reporting: holidays, SLA targets, ticket metrics, job runs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tiket.model.base import Base, utcnow

ANY = "*"


class Holiday(Base):
    """A day off in the business calendar: no business hours count on it."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class SlaTarget(Base):
    """Business minutes allowed for a category and priority (`*` matches any)."""

    __tablename__ = "sla_targets"
    __table_args__ = (UniqueConstraint("category", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(64), default=ANY)
    priority: Mapped[str] = mapped_column(String(16), default=ANY)
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]


class TicketMetric(Base):
    """A ticket's first response and resolution times in business minutes, and whether in SLA.

    The timestamps (and team) it was measured from are kept, so that a ticket reopened and
    resolved again, or moved to another team, is measured again.
    """

    __tablename__ = "ticket_metrics"
    __table_args__ = (
        Index(
            "ix_ticket_metrics_first_response",
            "first_response_at",
            "team_id",
            "first_response_minutes",
            "first_response_met",
        ),
        Index(
            "ix_ticket_metrics_resolution",
            "resolved_at",
            "team_id",
            "resolution_minutes",
            "resolution_met",
        ),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int | None]  # the ticket's team when measured: team reports need no join
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int | None]
    first_response_met: Mapped[bool | None]
    resolution_met: Mapped[bool | None]


class TicketNotice(Base):
    """A notice sent about a ticket (an SLA alert, a reminder): the unique key sends it once."""

    __tablename__ = "ticket_notices"
    __table_args__ = (UniqueConstraint("ticket_id", "notice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    notice: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """One run of a scheduled job for one period (its stable id: job name + period)."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # running, done, failed
    attempts: Mapped[int] = mapped_column(default=1)
    result: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]


class JobSend(Base):
    """A mail a job sent for a period to one recipient: written with the outbox row, once."""

    __tablename__ = "job_sends"
    __table_args__ = (UniqueConstraint("job", "period", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
