"""The scheduled jobs: what each does, when it runs and the period that is its stable id."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tiket.config import Settings
from tiket.desk import Desk
from tiket.errors import ConfigError
from tiket.model import Team
from tiket.model.db import Database
from tiket.reports import periods
from tiket.reports.alerts import check_sla
from tiket.reports.builder import Report
from tiket.reports.digest import digest_html, digest_subject, digest_text, team_digest
from tiket.reports.holidays import load_calendar
from tiket.reports.lifecycle import autoclose, remind_waiting, run_resolution_hooks
from tiket.reports.mail import image_cid, send_once
from tiket.reports.render import as_html, as_text
from tiket.reports.service import ReportService
from tiket.reports.sla import SlaPolicy, measure
from tiket.reports.summary import (
    last_week,
    managers,
    summary_html,
    summary_text,
    weekly_summary,
)

log = logging.getLogger(__name__)

# The SLA job measures tickets answered or resolved this recently (it runs every few minutes;
# a report measures its own period, whatever this job missed).
MEASURE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class JobContext:
    db: Database
    settings: Settings
    secret: bytes
    now: datetime
    job: str
    period: str


JobFunction = Callable[[JobContext], str]
PeriodFunction = Callable[[datetime, ZoneInfo], str]


@dataclass(frozen=True)
class JobSpec:
    """A job: its stable name, a cron trigger (local time) and the period a run stands for."""

    name: str
    description: str
    cron: Mapping[str, Any]
    period: PeriodFunction
    run: JobFunction


def every_minutes(minutes: int) -> PeriodFunction:
    def period(now: datetime, tz: ZoneInfo) -> str:
        local = now.astimezone(tz)
        floored = local.replace(minute=local.minute - local.minute % minutes, second=0)
        return floored.strftime("%Y-%m-%dT%H:%M")

    return period


def local_day(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).date().isoformat()


def iso_week(now: datetime, tz: ZoneInfo) -> str:
    iso = now.astimezone(tz).date().isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def previous_month(now: datetime, tz: ZoneInfo) -> str:
    return periods.previous_month(now, tz).label


def previous_year(now: datetime, tz: ZoneInfo) -> str:
    return periods.previous_year(now, tz).label


def _at(text: str) -> dict[str, int]:
    hour, _, minute = text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"scheduler: {text!r} is not a time like 07:00")
    return {"hour": int(hour), "minute": int(minute)}


def job_specs(settings: Settings) -> dict[str, JobSpec]:
    cfg = settings.scheduler
    sla_minutes = max(1, min(60, cfg.sla_every_minutes))
    life_minutes = max(1, min(60, cfg.lifecycle_every_minutes))
    specs = (
        JobSpec(
            "sla",
            "measure SLA times; alert on tickets near or past their targets",
            {"minute": f"*/{sla_minutes}"},
            every_minutes(sla_minutes),
            run_sla,
        ),
        JobSpec(
            "lifecycle",
            "close resolved tickets, remind waiting ones, resolution hooks",
            {"minute": f"*/{life_minutes}"} if life_minutes < 60 else {"minute": 0},
            every_minutes(life_minutes),
            run_lifecycle,
        ),
        JobSpec(
            "digest",
            "daily digest to each team's mailbox",
            _at(cfg.digest_time),
            local_day,
            run_digest,
        ),
        JobSpec(
            "weekly",
            "weekly summary with recurring problems to managers",
            {"day_of_week": cfg.weekly_day, **_at(cfg.weekly_time)},
            iso_week,
            run_weekly,
        ),
        JobSpec(
            "monthly-report",
            "last month's report to managers",
            {"day": 1, **_at(cfg.report_time)},
            previous_month,
            run_monthly_report,
        ),
        JobSpec(
            "annual-report",
            "last year's report to managers",
            {"month": 1, "day": 1, **_at(cfg.report_time)},
            previous_year,
            run_annual_report,
        ),
        JobSpec(
            "learn-train",
            "retrain the category classifier on the history",
            {"day_of_week": cfg.weekly_day, **_at(cfg.weekly_time)},
            iso_week,
            run_learn_train,
        ),
        JobSpec(
            "retention",
            "remove raw originals and attachments, anonymise old tickets ([retention])",
            _at(settings.retention.run_time),
            local_day,
            run_retention,
        ),
    )
    return {spec.name: spec for spec in specs}


def run_retention(ctx: JobContext) -> str:
    from tiket.privacy.retention import run

    return run(ctx.db, ctx.settings, ctx.now).summary()


def run_learn_train(ctx: JobContext) -> str:
    from tiket.errors import Conflict
    from tiket.learn.training import retrain

    try:
        return retrain(ctx.db, ctx.settings).summary()
    except Conflict as exc:  # too little history yet: a normal week, not a failure
        return f"not trained: {exc}"


def run_sla(ctx: JobContext) -> str:
    with ctx.db.session() as session:
        calendar = load_calendar(session, ctx.settings)
        policy = SlaPolicy.load(session, ctx.settings)
        measured = measure(session, calendar, policy, since=ctx.now - MEASURE_WINDOW)
        desk = Desk(session, ctx.settings, ctx.secret)
        alerts = check_sla(desk, calendar, policy, ctx.now, ctx.settings.sla.approaching_share)
    return f"measured {measured}, alerts {len(alerts)}"


def run_lifecycle(ctx: JobContext) -> str:
    cfg = ctx.settings.lifecycle
    with ctx.db.session() as session:
        desk = Desk(session, ctx.settings, ctx.secret)
        closed = autoclose(desk, ctx.now, cfg.autoclose_days)
        reminded = remind_waiting(desk, ctx.now, cfg.remind_waiting_days)
        hooks = run_resolution_hooks(desk, ctx.now)
    return f"closed {len(closed)}, reminded {len(reminded)}, resolution hooks {hooks}"


def run_digest(ctx: JobContext) -> str:
    sent = 0
    with ctx.db.session() as session:
        calendar = load_calendar(session, ctx.settings)
        policy = SlaPolicy.load(session, ctx.settings)
        teams = session.scalars(select(Team).order_by(Team.name)).all()
    today = ctx.now.astimezone(calendar.tz).date()
    for team in teams:  # one transaction per team: a failure elsewhere keeps those sent
        with ctx.db.session() as session:
            team = session.get_one(Team, team.id)
            digest = team_digest(session, team, calendar, policy, today, ctx.now)
            sent += send_once(
                session,
                ctx.settings,
                job=ctx.job,
                period=ctx.period,
                to=team.mailbox,
                subject=digest_subject(digest),
                text=digest_text(digest),
                html=digest_html(digest),
            )
    return f"sent {sent} of {len(teams)} team digests"


def run_weekly(ctx: JobContext) -> str:
    service = ReportService(ctx.db, ctx.settings)
    calendar = service.calendar()
    week = last_week(ctx.now.astimezone(calendar.tz).date(), calendar)
    trends = service.trends(now=ctx.now)
    sent = 0
    with ctx.db.session() as session:
        by_manager = managers(session)
    for address, teams in by_manager.items():
        with ctx.db.session() as session:
            attached = [session.get_one(Team, t.id) for t in teams]
            summary = weekly_summary(session, attached, week, trends)
            sent += send_once(
                session,
                ctx.settings,
                job=ctx.job,
                period=ctx.period,
                to=address,
                subject=f"Weekly summary {summary.week}",
                text=summary_text(summary),
                html=summary_html(summary),
            )
    return f"sent {sent} of {len(by_manager)} summaries"


def run_monthly_report(ctx: JobContext) -> str:
    return _mail_report(ctx, ReportService(ctx.db, ctx.settings).monthly(ctx.period))


def run_annual_report(ctx: JobContext) -> str:
    return _mail_report(ctx, ReportService(ctx.db, ctx.settings).annual(int(ctx.period)))


def _mail_report(ctx: JobContext, report: Report) -> str:
    from tiket.reports.charts import render_charts  # matplotlib: ~40 MB, only when drawing

    charts = render_charts(report)
    html = as_html(report, {name: f"cid:{image_cid(name)}" for name in charts})
    text = as_text(report)
    with ctx.db.session() as session:
        recipients = list(managers(session))
    sent = 0
    for address in recipients:
        with ctx.db.session() as session:
            sent += send_once(
                session,
                ctx.settings,
                job=ctx.job,
                period=ctx.period,
                to=address,
                subject=report.title,
                text=text,
                html=html,
                images=charts,
            )
    if not recipients:
        log.warning("action=report_unsent job=%s reason=no_managers", ctx.job)
    return f"sent {sent} of {len(recipients)} reports"
