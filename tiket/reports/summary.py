"""The weekly manager summary: each managed team's week, and the recurring problems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiket.model import OPEN_STATUSES, Team, Ticket
from tiket.reports import queries
from tiket.reports.calendar import BusinessCalendar
from tiket.reports.queries import Scope
from tiket.reports.render import environment
from tiket.reports.trends import Trend


@dataclass(frozen=True)
class TeamWeek:
    team: str
    tickets_in: int
    tickets_closed: int
    open_now: int
    first_response_within: float | None
    resolution_within: float | None


@dataclass(frozen=True)
class WeeklySummary:
    week: str  # ISO week, e.g. 2026-W48
    start: str
    end: str
    teams: list[TeamWeek]
    trends: list[Trend]


def last_week(today: date, calendar: BusinessCalendar) -> tuple[str, datetime, datetime]:
    """The ISO week (Monday to Sunday) before the one `today` is in."""
    monday = today - timedelta(days=today.weekday() + 7)
    start = datetime.combine(monday, time(), tzinfo=calendar.tz)
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}", start, start + timedelta(days=7)


def managers(session: Session) -> dict[str, list[Team]]:
    """Manager address → the teams they manage."""
    result: dict[str, list[Team]] = {}
    for team in session.scalars(select(Team).order_by(Team.name)):
        for address in team.managers:
            result.setdefault(address.lower(), []).append(team)
    return result


def team_week(session: Session, team: Team, start: datetime, end: datetime) -> TeamWeek:
    scope = Scope(start, end, team.id)
    sla = queries.sla_by_team(session, scope)
    answered = sum(r[1] for r in sla)
    resolved = sum(r[3] for r in sla)
    open_now = session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.team_id == team.id, Ticket.status.in_(OPEN_STATUSES)
        )
    )
    return TeamWeek(
        team=team.title or team.name,
        tickets_in=queries.total(session, scope, Ticket.created_at),
        tickets_closed=queries.total(session, scope, Ticket.closed_at),
        open_now=int(open_now or 0),
        first_response_within=round(sum(r[2] for r in sla) / answered, 4) if answered else None,
        resolution_within=round(sum(r[4] for r in sla) / resolved, 4) if resolved else None,
    )


def weekly_summary(
    session: Session,
    teams: Sequence[Team],
    week: tuple[str, datetime, datetime],
    trends: list[Trend],
) -> WeeklySummary:
    label, start, end = week
    return WeeklySummary(
        week=label,
        start=start.date().isoformat(),
        end=(end - timedelta(days=1)).date().isoformat(),
        teams=[team_week(session, team, start, end) for team in teams],
        trends=trends,
    )


def summary_text(summary: WeeklySummary) -> str:
    return environment().get_template("summary.txt.j2").render(s=summary)


def summary_html(summary: WeeklySummary) -> str:
    return environment().get_template("summary.html.j2").render(s=summary)
