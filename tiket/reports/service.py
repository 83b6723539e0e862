"""The reports as the CLI, the jobs and the bench ask for them: measure, then aggregate."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from tiket.config import Settings
from tiket.errors import NotFound
from tiket.model import Team, utcnow
from tiket.model.db import Database
from tiket.reports import periods
from tiket.reports.builder import Progress, Report, build_report
from tiket.reports.calendar import BusinessCalendar
from tiket.reports.holidays import load_calendar
from tiket.reports.reading import Reader
from tiket.reports.sla import SlaPolicy, complete, measure
from tiket.reports.trends import Trend, find_trends

RECENT = timedelta(days=30)


class ReportService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def calendar(self) -> BusinessCalendar:
        with self.db.session() as session:
            return load_calendar(session, self.settings)

    def monthly(self, month: str | None = None, *, progress: Progress | None = None) -> Report:
        tz = self.calendar().tz
        period = periods.month(month, tz) if month else periods.previous_month(utcnow(), tz)
        return self.build(period, f"Monthly report {period.label}", progress=progress)

    def annual(self, year: int | None = None, *, progress: Progress | None = None) -> Report:
        tz = self.calendar().tz
        period = periods.year(year, tz) if year else periods.previous_year(utcnow(), tz)
        return self.build(period, f"Annual report {period.label}", progress=progress)

    def team(
        self, name: str, first: date, last: date, *, progress: Progress | None = None
    ) -> Report:
        period = periods.span(first, last, self.calendar().tz)
        with self.db.session() as session:
            team = session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
            if team is None:
                raise NotFound(f"no team {name!r}; `tiket teams list` shows the teams")
            key = (team.id, team.name)
        return self.build(period, f"Team {key[1]}: {period.label}", team=key, progress=progress)

    def build(
        self,
        period: periods.Period,
        title: str,
        *,
        team: tuple[int, str] | None = None,
        progress: Progress | None = None,
    ) -> Report:
        with self.db.session() as session:
            calendar = load_calendar(session, self.settings)
            policy = SlaPolicy.load(session, self.settings)
            # Recent tickets may have changed since measured (reopened, resolved again, moved);
            # older ones are measured once, unless the period's counts show some are missing.
            recent = max(period.start, utcnow() - RECENT)
            if recent < period.end:
                measure(session, calendar, policy, since=recent, until=period.end)
            if not complete(session, period.start, period.end):
                measure(session, calendar, policy, since=period.start, until=period.end)
        reader = Reader(self.db)
        try:
            return build_report(
                reader.session,
                period,
                title=title,
                team=team,
                language=self.settings.mail.language,
                top=self.settings.reports.top_problems,
                progress=progress,
                workers=self.settings.reports.workers,
            )
        finally:
            reader.close()

    def trends(self, since: date | None = None, *, now: datetime | None = None) -> list[Trend]:
        now = now or utcnow()
        tz = self.calendar().tz
        start = (
            datetime.combine(since, datetime.min.time(), tzinfo=tz)
            if since
            else now - timedelta(weeks=self.settings.reports.trend_weeks)
        )
        reader = Reader(self.db)
        try:
            with reader.session() as session:
                return find_trends(
                    session,
                    start,
                    now,
                    min_tickets=self.settings.reports.trend_min_tickets,
                    language=self.settings.mail.language,
                )
        finally:
            reader.close()
