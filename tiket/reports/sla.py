"""SLA targets per category and priority in business minutes, and tickets measured against them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.model import Category, SlaTarget, Ticket, TicketMetric
from tiket.model.reports import ANY
from tiket.reports.calendar import BusinessCalendar

log = logging.getLogger(__name__)

MEASURE_BATCH = 2000
Facts = Select[int, datetime, datetime | None, datetime | None, str, str, int | None]


@dataclass(frozen=True)
class Target:
    first_response_minutes: int
    resolution_minutes: int


@dataclass(frozen=True)
class SlaPolicy:
    """The most specific target wins: category+priority, category, priority, the default."""

    default: Target
    targets: Mapping[tuple[str, str], Target]

    @classmethod
    def load(cls, session: Session, settings: Settings) -> SlaPolicy:
        default = Target(
            round(settings.sla.first_response_hours * 60), round(settings.sla.resolution_hours * 60)
        )
        rows = session.scalars(select(SlaTarget)).all()
        return cls(
            default,
            {
                (r.category, r.priority): Target(r.first_response_minutes, r.resolution_minutes)
                for r in rows
            },
        )

    def target(self, category: str | None, priority: str) -> Target:
        slug = category or ANY
        for key in ((slug, priority), (slug, ANY), (ANY, priority), (ANY, ANY)):
            if key in self.targets:
                return self.targets[key]
        return self.default


def set_target(
    session: Session, category: str, priority: str, first_response: int, resolution: int
) -> SlaTarget:
    if first_response <= 0 or resolution <= 0:
        raise ValueError("SLA targets must be positive")
    row = session.scalar(
        select(SlaTarget).where(SlaTarget.category == category, SlaTarget.priority == priority)
    )
    if row is None:
        row = SlaTarget(category=category, priority=priority)
        session.add(row)
    row.first_response_minutes = first_response
    row.resolution_minutes = resolution
    return row


def measure(
    session: Session,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50_000,
) -> int:
    """Store business-hour times for tickets answered or resolved in [since, until) that were
    not measured as they are now. Returns how many were measured; at most `limit` a call."""
    ids = stale(session, since, until, limit)
    for start in range(0, len(ids), MEASURE_BATCH):
        chunk = ids[start : start + MEASURE_BATCH]
        values = [_metric(calendar, policy, *row) for row in session.execute(_facts(chunk))]
        session.execute(delete(TicketMetric).where(TicketMetric.ticket_id.in_(chunk)))
        session.execute(insert(TicketMetric), values)
    if ids:
        log.info("action=sla_measured tickets=%d", len(ids))
    return len(ids)


def stale(
    session: Session, since: datetime | None, until: datetime | None, limit: int
) -> list[int]:
    """Tickets whose metric row is missing, or was taken from other timestamps or another team.

    One range scan of a covering index per timestamp, checked against the metric's key."""
    metric = TicketMetric
    found: set[int] = set()
    for when, snapshot in (
        (Ticket.first_response_at, metric.first_response_at),
        (Ticket.resolved_at, metric.resolved_at),
    ):
        query = (
            select(Ticket.id)
            .outerjoin(metric, metric.ticket_id == Ticket.id)
            .where(
                or_(
                    metric.ticket_id.is_(None),
                    snapshot.is_distinct_from(when),
                    metric.team_id.is_distinct_from(Ticket.team_id),
                )
            )
        )
        query = query.where(when >= since) if since is not None else query.where(when.is_not(None))
        if until is not None:
            query = query.where(when < until)
        found.update(session.scalars(query.limit(limit)))
    return sorted(found)[:limit]


def complete(session: Session, since: datetime, until: datetime) -> bool:
    """Whether every ticket answered or resolved in [since, until) has its metric: two index
    counts per timestamp, so that a report of a settled period need not look row by row."""
    metric = TicketMetric
    for when, snapshot, minutes in (
        (Ticket.first_response_at, metric.first_response_at, metric.first_response_minutes),
        (Ticket.resolved_at, metric.resolved_at, metric.resolution_minutes),
    ):
        tickets = session.scalar(
            select(func.count()).select_from(Ticket).where(when >= since, when < until)
        )
        measured = session.scalar(
            select(func.count())
            .select_from(metric)
            .where(snapshot >= since, snapshot < until, minutes.is_not(None))
        )
        if tickets != measured:
            return False
    return True


def _facts(ids: list[int]) -> Facts:
    return (
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.first_response_at,
            Ticket.resolved_at,
            Category.slug,
            Ticket.priority,
            Ticket.team_id,
        )
        .outerjoin(Category, Category.id == Ticket.category_id)
        .where(Ticket.id.in_(ids))
    )


def _metric(
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    ticket_id: int,
    created_at: datetime,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
    category: str | None,
    priority: str,
    team_id: int | None,
) -> dict[str, object]:
    target = policy.target(category, priority)
    first = calendar.minutes_between(created_at, first_response_at) if first_response_at else None
    resolution = calendar.minutes_between(created_at, resolved_at) if resolved_at else None
    return {
        "ticket_id": ticket_id,
        "team_id": team_id,
        "first_response_at": first_response_at,
        "resolved_at": resolved_at,
        "first_response_minutes": first,
        "resolution_minutes": resolution,
        "first_response_met": None if first is None else first <= target.first_response_minutes,
        "resolution_met": None if resolution is None else resolution <= target.resolution_minutes,
    }
