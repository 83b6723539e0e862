"""SLA alerts: tickets near or past their targets notify the team, and past them its managers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tiket.desk import Actor, Desk
from tiket.model import Status, Ticket
from tiket.reports.calendar import BusinessCalendar
from tiket.reports.notices import claim_notice
from tiket.reports.sla import SlaPolicy

log = logging.getLogger(__name__)

# Waiting on the requester stops neither clock, but nobody is warned about it either.
WATCHED = (Status.NEW.value, Status.OPEN.value)
METRIC_NAMES = {"first_response": "first response", "resolution": "resolution"}


@dataclass(frozen=True)
class Alert:
    ticket: str
    metric: str
    level: str  # approaching, breached
    elapsed_minutes: int
    target_minutes: int
    notified: tuple[str, ...]


def check_sla(
    desk: Desk, calendar: BusinessCalendar, policy: SlaPolicy, now: datetime, share: float
) -> list[Alert]:
    """Alert once per ticket, metric and level; each alert is an event on the ticket."""
    tickets = desk.session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(WATCHED))
        .options(selectinload(Ticket.team), selectinload(Ticket.category))
        .order_by(Ticket.id)
    )
    alerts = []
    for ticket in tickets:
        target = policy.target(ticket.category.slug if ticket.category else None, ticket.priority)
        elapsed = calendar.minutes_between(ticket.created_at, now)
        checks = [("resolution", target.resolution_minutes)]
        if ticket.first_response_at is None:
            checks.insert(0, ("first_response", target.first_response_minutes))
        for metric, minutes in checks:
            level = _level(elapsed, minutes, share)
            if level and claim_notice(desk.session, ticket.id, f"sla:{metric}:{level}"):
                alerts.append(_notify(desk, ticket, metric, level, elapsed, minutes))
    return alerts


def _level(elapsed: int, target: int, share: float) -> str | None:
    if elapsed >= target:
        return "breached"
    if elapsed >= share * target:
        return "approaching"
    return None


def _notify(
    desk: Desk, ticket: Ticket, metric: str, level: str, elapsed: int, target: int
) -> Alert:
    recipients: list[str] = []
    if ticket.team is not None:
        recipients.append(ticket.team.mailbox)
        if level == "breached":
            recipients += [m for m in ticket.team.managers if m not in recipients]
    for address in recipients:
        desk.tell_person(
            ticket,
            f"sla_{level}",
            address,
            metric=METRIC_NAMES[metric],
            elapsed_hours=f"{elapsed / 60:.1f}",
            target_hours=f"{target / 60:.1f}",
        )
    desk.event(
        ticket,
        f"sla_{level}",
        Actor.system(),
        metric=metric,
        elapsed_minutes=elapsed,
        target_minutes=target,
        notified=recipients,
    )
    log.info(
        "action=sla_%s ticket=%s metric=%s elapsed=%d target=%d",
        level,
        ticket.number,
        metric,
        elapsed,
        target,
    )
    return Alert(ticket.number, metric, level, elapsed, target, tuple(recipients))
