"""SQL aggregates the reports are made of: each is one GROUP BY over indexed columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tiket.model import Category, Event, Requester, Team, Ticket, TicketMetric
from tiket.model.tickets import Status

UNKNOWN = "(unknown)"
# The event tiket/survey.py writes with each satisfaction answer: data {"rating": 1..5}.
RATING_EVENT = "survey_rated"
REOPENED_FROM = (Status.RESOLVED.value, Status.CLOSED.value)
DIMENSIONS = ("category", "team", "channel", "agency")


@dataclass(frozen=True)
class Scope:
    """A time range in UTC (start included, end excluded) and optionally one team."""

    start: datetime
    end: datetime
    team_id: int | None = None

    def on(self, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        window = and_(column >= self.start, column < self.end)
        if self.team_id is not None:
            return and_(window, Ticket.team_id == self.team_id)
        return window


Breakdown = list[tuple[int | None, int | None, str, str, int]]


def breakdown(session: Session, scope: Scope, when: InstrumentedAttribute[Any]) -> Breakdown:
    """Tickets whose `when` falls in the scope, per (category id, team id, channel, agency): one
    scan of a covering index joined to the requesters; every per-dimension total is a sum of
    these few rows."""
    rows = session.execute(
        select(
            Ticket.category_id, Ticket.team_id, Ticket.channel, Requester.organisation, func.count()
        )
        .select_from(Ticket)
        .join(Requester, Requester.id == Ticket.requester_id)
        .where(scope.on(when))
        .group_by(Ticket.category_id, Ticket.team_id, Ticket.channel, Requester.organisation)
    ).all()
    return [(c, t, ch, org or UNKNOWN, int(n)) for c, t, ch, org, n in rows]


def names(session: Session, language: str) -> tuple[dict[int, str], dict[int, str]]:
    """Category and team names by id."""
    label = Category.name_id if language == "id" else Category.name_en
    categories = {i: str(n) for i, n in session.execute(select(Category.id, label))}
    teams = {i: str(n) for i, n in session.execute(select(Team.id, Team.name))}
    return categories, teams


def total(session: Session, scope: Scope, when: InstrumentedAttribute[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(Ticket).where(scope.on(when))) or 0)


def before(
    session: Session, moment: datetime, when: InstrumentedAttribute[Any], team: int | None
) -> int:
    query = select(func.count(Ticket.id)).where(when < moment)
    if team is not None:
        query = query.where(Ticket.team_id == team)
    return int(session.scalar(query) or 0)


def bucket_expression(
    column: InstrumentedAttribute[Any], edges: Sequence[datetime]
) -> ColumnElement[int]:
    """The index of the bucket [edges[i], edges[i+1]) a value falls in (edges are exact local
    boundaries converted to UTC, so months and days follow the business time zone)."""
    return case(
        *((column < edge, literal(i)) for i, edge in enumerate(edges[1:])),
        else_=literal(len(edges) - 1),
    )


def bucket_counts(
    session: Session,
    edges: Sequence[datetime],
    when: InstrumentedAttribute[Any],
    team: int | None,
    by_category: bool = False,
) -> dict[tuple[int, int | None], int]:
    """Tickets per bucket (and per category id): keys (bucket index, category id or None)."""
    bucket = bucket_expression(when, edges).label("bucket")
    scope = Scope(edges[0], edges[-1], team)
    category = Ticket.category_id if by_category else literal(None)
    rows = session.execute(
        select(bucket, category, func.count()).where(scope.on(when)).group_by(bucket, category)
    ).all()
    return {(int(b), c): int(n) for b, c, n in rows}


@dataclass(frozen=True)
class Distribution:
    """Business minutes → tickets, and how many met their target."""

    counts: dict[int, int]
    met: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def time_distribution(session: Session, scope: Scope, metric: str) -> Distribution:
    """First response (metric "first_response") or resolution ("resolution") times of tickets
    answered or resolved in the scope, as a frequency table: percentiles come from it exactly."""
    m = TicketMetric
    if metric == "first_response":
        when, minutes, met = m.first_response_at, m.first_response_minutes, m.first_response_met
    else:
        when, minutes, met = m.resolved_at, m.resolution_minutes, m.resolution_met
    query = (
        select(minutes, func.count(), func.sum(case((met.is_(True), 1), else_=0)))
        .where(when >= scope.start, when < scope.end, minutes.is_not(None))
        .group_by(minutes)
    )
    if scope.team_id is not None:
        query = query.where(m.team_id == scope.team_id)
    rows = session.execute(query).all()
    return Distribution({int(v): int(n) for v, n, _ in rows}, sum(int(k or 0) for *_, k in rows))


def sla_by_team(session: Session, scope: Scope) -> list[tuple[str, int, int, int, int]]:
    """Per team: (name, answered, answered in SLA, resolved, resolved in SLA)."""
    m = TicketMetric
    result: dict[int | None, list[int]] = {}
    for index, (when, minutes, met) in enumerate(
        (
            (m.first_response_at, m.first_response_minutes, m.first_response_met),
            (m.resolved_at, m.resolution_minutes, m.resolution_met),
        )
    ):
        query = (
            select(m.team_id, func.count(), func.sum(case((met.is_(True), 1), else_=0)))
            .where(when >= scope.start, when < scope.end, minutes.is_not(None))
            .group_by(m.team_id)
        )
        if scope.team_id is not None:
            query = query.where(m.team_id == scope.team_id)
        for team_id, n, within in session.execute(query):
            row = result.setdefault(team_id, [0, 0, 0, 0])
            row[2 * index], row[2 * index + 1] = int(n), int(within or 0)
    teams: dict[int, str] = {i: n for i, n in session.execute(select(Team.id, Team.name))}
    return sorted(
        (teams.get(t, UNKNOWN) if t is not None else UNKNOWN, v[0], v[1], v[2], v[3])
        for t, v in result.items()
    )


def reopened(session: Session, scope: Scope) -> int:
    """Tickets taken back from resolved or closed to an open status in the scope."""
    old = Event.data["old"].as_string()
    new = Event.data["new"].as_string()
    query = select(func.count(distinct(Event.ticket_id))).where(
        Event.kind == "status",
        Event.created_at >= scope.start,
        Event.created_at < scope.end,
        old.in_(REOPENED_FROM),
        new.not_in(REOPENED_FROM),
    )
    if scope.team_id is not None:
        query = query.join(Ticket, Ticket.id == Event.ticket_id).where(
            Ticket.team_id == scope.team_id
        )
    return int(session.scalar(query) or 0)


def ratings(session: Session, scope: Scope) -> dict[int, int]:
    """Satisfaction answers given in the scope: score → count."""
    score = Event.data["rating"].as_integer()
    query = (
        select(score, func.count())
        .where(
            Event.kind == RATING_EVENT,
            Event.created_at >= scope.start,
            Event.created_at < scope.end,
        )
        .group_by(score)
    )
    if scope.team_id is not None:
        query = query.join(Ticket, Ticket.id == Event.ticket_id).where(
            Ticket.team_id == scope.team_id
        )
    return {int(s): int(n) for s, n in session.execute(query) if s is not None}


def top_problems(
    session: Session, scope: Scope, limit: int, categories: dict[int, str]
) -> list[tuple[str, str, int, int, int]]:
    """The most frequent (category, subject) pairs: (category, subject, tickets, requesters,
    agencies). Requesters and agencies are counted for the winners only."""
    subject = func.lower(func.trim(Ticket.subject))
    count = func.count()
    top = session.execute(
        select(Ticket.category_id, subject, count)
        .where(scope.on(Ticket.created_at))
        .group_by(Ticket.category_id, subject)
        .having(count > 1)
        .order_by(count.desc(), subject)
        .limit(limit)
    ).all()
    if not top:
        return []
    spread: dict[tuple[int | None, str], tuple[int, int]] = {
        (c, s): (int(r), int(a))
        for c, s, r, a in session.execute(
            select(
                Ticket.category_id,
                subject,
                func.count(distinct(Ticket.requester_id)),
                func.count(distinct(Requester.organisation)),
            )
            .select_from(Ticket)
            .join(Requester, Requester.id == Ticket.requester_id)
            .where(scope.on(Ticket.created_at), subject.in_({s for _, s, _ in top}))
            .group_by(Ticket.category_id, subject)
        )
    }
    return [
        (
            categories.get(c, UNKNOWN) if c is not None else UNKNOWN,
            s,
            int(n),
            *spread.get((c, s), (0, 0)),
        )
        for c, s, n in top
    ]
