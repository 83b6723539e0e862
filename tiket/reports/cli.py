"""The `tiket jobs`, `calendar`, `sla`, `report` and `trends` commands: thin click wrappers."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tiket.errors import ConfigError
from tiket.reports.builder import STEPS, Progress, Report
from tiket.reports.render import FORMATS, render

if TYPE_CHECKING:
    from tiket.cli import State


def _state() -> State:
    return click.get_current_context().find_root().obj  # type: ignore[no-any-return]


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} must be a date YYYY-MM-DD, got {text!r}") from None


# -- jobs -------------------------------------------------------------------------------------


@click.group()
def jobs() -> None:
    """Scheduled jobs (run by `tiket serve`)."""


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True)
def jobs_list(as_json: bool) -> None:
    """Show the jobs with their next run, last run and last result."""
    from tiket.gateway.scheduler import last_runs, next_run
    from tiket.reports.calendar import zone
    from tiket.reports.jobs import job_specs

    state = _state()
    tz = zone(state.settings.calendar.timezone)
    runs = last_runs(state.db)
    rows = []
    for spec in job_specs(state.settings).values():
        run = runs.get(spec.name)
        upcoming = next_run(spec, state.settings)
        rows.append(
            {
                "name": spec.name,
                "description": spec.description,
                "next_run": upcoming.isoformat(timespec="minutes") if upcoming else None,
                "last_period": run.period if run else None,
                "last_run": (
                    run.started_at.astimezone(tz).isoformat(timespec="seconds") if run else None
                ),
                "last_state": run.state if run else None,
                "last_result": run.result if run else None,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        last = (
            f"{row['last_run']} {row['last_state']} ({row['last_period']}): {row['last_result']}"
            if row["last_run"]
            else "never run"
        )
        click.echo(f"{row['name']:<15} next {row['next_run'] or '-':<22} last {last}")
        click.echo(f"{'':<15} {row['description']}")


@jobs.command("run")
@click.argument("name")
@click.option("--force", is_flag=True, help="Run again a period already done (no mail twice).")
def jobs_run(name: str, force: bool) -> None:
    """Run one job now, for the current period."""
    from tiket.gateway.scheduler import run_job, spec_named

    state = _state()
    spec = spec_named(state.settings, name)
    outcome = run_job(state.db, state.settings, state.secret, spec, force=force)
    click.echo(f"{outcome.job} {outcome.period}: {outcome.state}: {outcome.result}")
    if outcome.state == "failed":
        sys.exit(1)


# -- the business calendar and SLA targets ----------------------------------------------------


@click.group("calendar")
def calendar_group() -> None:
    """The business calendar: working hours and holidays."""


@calendar_group.command("show")
def calendar_show() -> None:
    """Print the time zone and the working hours."""
    from tiket.reports.calendar import WEEKDAYS, parse_hours

    settings = _state().settings
    click.echo(f"timezone {settings.calendar.timezone}")
    for day, spans in parse_hours(settings.calendar.hours).items():
        text = ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans)
        click.echo(f"{WEEKDAYS[day]}  {text or 'closed'}")


@calendar_group.group()
def holidays() -> None:
    """Days off: no business hours count on them."""


@holidays.command("add")
@click.argument("day")
@click.argument("name", nargs=-1)
def holidays_add(day: str, name: tuple[str, ...]) -> None:
    """Add a holiday: DAY as YYYY-MM-DD, then its name."""
    from tiket.reports.holidays import add_holiday

    when = _day(day, "DAY")
    with _state().db.session() as session:
        add_holiday(session, when, " ".join(name))
    click.echo(f"holiday {when.isoformat()} added")


@holidays.command("list")
@click.option("--year", type=int)
@click.option("--json", "as_json", is_flag=True)
def holidays_list(year: int | None, as_json: bool) -> None:
    """List the holidays (of one year)."""
    from tiket.reports.holidays import list_holidays

    with _state().db.session() as session:
        rows = [{"day": h.day.isoformat(), "name": h.name} for h in list_holidays(session, year)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no holidays")
    for row in rows:
        click.echo(f"{row['day']}  {row['name']}")


@holidays.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def holidays_import(path: Path) -> None:
    """Add every day of the events of an iCalendar (.ics) file; nothing on an error."""
    from tiket.reports.holidays import import_ics

    with _state().db.session() as session:
        imported = import_ics(session, path.read_bytes())
    click.echo(f"added {len(imported.added)} holidays, {len(imported.known)} already known")


@click.group()
def sla() -> None:
    """SLA targets in business hours, per category and priority."""


@sla.command("list")
def sla_list() -> None:
    """Show the default and the stored targets."""
    from tiket.reports.sla import SlaPolicy

    state = _state()
    with state.db.session() as session:
        policy = SlaPolicy.load(session, state.settings)
    default = policy.default
    click.echo(
        f"{'default':<28} first response {default.first_response_minutes / 60:g} h, "
        f"resolution {default.resolution_minutes / 60:g} h"
    )
    for (category, priority), target in sorted(policy.targets.items()):
        click.echo(
            f"{category + ' / ' + priority:<28} first response "
            f"{target.first_response_minutes / 60:g} h, resolution "
            f"{target.resolution_minutes / 60:g} h"
        )


@sla.command("set")
@click.argument("category")
@click.argument("priority")
@click.option("--first-response", type=float, required=True, help="Business hours.")
@click.option("--resolution", type=float, required=True, help="Business hours.")
def sla_set(category: str, priority: str, first_response: float, resolution: float) -> None:
    """Set the targets for CATEGORY (slug or *) and PRIORITY (low, normal, high or *)."""
    from sqlalchemy import select

    from tiket.model import Category
    from tiket.model.reports import ANY
    from tiket.reports.sla import set_target

    if first_response <= 0 or resolution <= 0:
        raise ConfigError("targets must be positive numbers of business hours")
    with _state().db.session() as session:
        if (
            category != ANY
            and session.scalar(select(Category.id).where(Category.slug == category)) is None
        ):
            raise ConfigError(f"no category {category!r}")
        set_target(session, category, priority, round(first_response * 60), round(resolution * 60))
    click.echo(f"SLA {category} / {priority}: {first_response:g} h, {resolution:g} h")


# -- reports ----------------------------------------------------------------------------------


@contextmanager
def _progress(label: str) -> Iterator[Progress | None]:
    """A progress bar on a terminal; nothing when stderr is a pipe or a file."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=STEPS, label=label, file=sys.stderr) as bar:
        yield lambda _step: bar.update(1)


def _emit(report: Report, fmt: str, output: Path | None) -> None:
    text = render(report, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _report_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True
    )(function)
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE."
    )(function)


@click.group()
def report() -> None:
    """Monthly, annual and team reports (text, json, csv, html with charts)."""


@report.command("monthly")
@click.option("--month", help="YYYY-MM; default: last month.")
@_report_options
def report_monthly(month: str | None, fmt: str, output: Path | None) -> None:
    """Tickets, response times, SLA, backlog, satisfaction and problems of one month."""
    from tiket.reports.service import ReportService

    state = _state()
    with _progress("monthly report") as progress:
        data = ReportService(state.db, state.settings).monthly(month, progress=progress)
    _emit(data, fmt, output)


@report.command("annual")
@click.option("--year", type=int, help="Default: last year.")
@_report_options
def report_annual(year: int | None, fmt: str, output: Path | None) -> None:
    """The same figures for a calendar year, by month."""
    from tiket.reports.service import ReportService

    state = _state()
    with _progress("annual report") as progress:
        data = ReportService(state.db, state.settings).annual(year, progress=progress)
    _emit(data, fmt, output)


@report.command("team")
@click.argument("team")
@click.option("--from", "first", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, help="Last day (included), YYYY-MM-DD.")
@_report_options
def report_team(team: str, first: str, last: str, fmt: str, output: Path | None) -> None:
    """One team's figures between two days."""
    from tiket.reports.service import ReportService

    state = _state()
    start, end = _day(first, "--from"), _day(last, "--to")
    with _progress(f"team {team}") as progress:
        data = ReportService(state.db, state.settings).team(team, start, end, progress=progress)
    _emit(data, fmt, output)


@click.command()
@click.option("--since", help="First day, YYYY-MM-DD; default: [reports] trend_weeks ago.")
@click.option("--json", "as_json", is_flag=True)
def trends(since: str | None, as_json: bool) -> None:
    """Recurring problems: similar tickets from many requesters or one agency, rising first."""
    from tiket.reports.service import ReportService

    state = _state()
    found = ReportService(state.db, state.settings).trends(
        _day(since, "--since") if since else None
    )
    _audit_examples(state, [number for t in found for number, _subject in t.examples])
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(t) for t in found], indent=2))
        return
    if not found:
        click.echo("no recurring problems")
    for t in found:
        click.echo(
            f"{'RISING ' if t.rising else '       '}{t.tickets:>5}  {t.category}: {t.wording!r} "
            f"from {t.requesters} requesters (most from {t.top_agency}: {t.agency_tickets}); "
            f"weekly {' '.join(map(str, t.weekly))}"
        )
        for number, subject in t.examples:
            click.echo(f"         {number}  {subject}")


def _audit_examples(state: State, numbers: list[str]) -> None:
    """The examples' subjects are requesters' own words: each ticket shown is audited."""
    from tiket.privacy import audit

    with state.db.session() as session:
        audit.record_numbers(session, audit.operator_name(state.settings), "trends", numbers)


COMMANDS: tuple[click.Command, ...] = (jobs, calendar_group, sla, report, trends)
