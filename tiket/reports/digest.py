"""The daily team digest: new, open, overdue, waiting on the requester, closed yesterday."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tiket.model import Status, Team, Ticket
from tiket.reports.calendar import BusinessCalendar
from tiket.reports.render import environment
from tiket.reports.sla import SlaPolicy

LIST_LIMIT = 50


@dataclass(frozen=True)
class Line:
    number: str
    subject: str
    status: str
    requester: str
    age_hours: float  # business hours since it was opened


@dataclass(frozen=True)
class TeamDigest:
    team: str
    title: str
    day: str  # the day the digest looks back on (yesterday)
    new: list[Line]
    open_count: int
    overdue: list[Line]
    waiting: list[Line]
    closed: int


def team_digest(
    session: Session,
    team: Team,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    today: date,
    now: datetime,
) -> TeamDigest:
    start = datetime.combine(today - timedelta(days=1), time(), tzinfo=calendar.tz)
    end = datetime.combine(today, time(), tzinfo=calendar.tz)

    def line(t: Ticket) -> Line:
        who = t.requester.name or t.requester.email or t.requester.phone or "-"
        age = calendar.seconds_between(t.created_at, now) / 3600
        return Line(t.number, t.subject, t.status, who, round(age, 1))

    base = (
        select(Ticket)
        .where(Ticket.team_id == team.id)
        .options(selectinload(Ticket.requester), selectinload(Ticket.category))
    )
    new = session.scalars(
        base.where(Ticket.created_at >= start, Ticket.created_at < end).order_by(Ticket.id)
    ).all()
    active = session.scalars(
        base.where(Ticket.status.in_((Status.NEW, Status.OPEN))).order_by(Ticket.created_at)
    ).all()
    overdue = [
        t
        for t in active
        if calendar.minutes_between(t.created_at, now)
        > policy.target(t.category.slug if t.category else None, t.priority).resolution_minutes
    ]
    waiting = session.scalars(
        base.where(Ticket.status == Status.PENDING).order_by(Ticket.updated_at)
    ).all()
    closed = session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.team_id == team.id, Ticket.closed_at >= start, Ticket.closed_at < end
        )
    )
    return TeamDigest(
        team=team.name,
        title=team.title or team.name,
        day=start.date().isoformat(),
        new=[line(t) for t in new[:LIST_LIMIT]],
        open_count=len(active),
        overdue=[line(t) for t in overdue[:LIST_LIMIT]],
        waiting=[line(t) for t in waiting[:LIST_LIMIT]],
        closed=int(closed or 0),
    )


def digest_subject(digest: TeamDigest) -> str:
    return (
        f"Daily digest {digest.title} {digest.day}: {len(digest.new)} new, "
        f"{digest.open_count} open, {len(digest.overdue)} overdue"
    )


def digest_text(digest: TeamDigest) -> str:
    return environment().get_template("digest.txt.j2").render(d=digest)


def digest_html(digest: TeamDigest) -> str:
    return environment().get_template("digest.html.j2").render(d=digest)
