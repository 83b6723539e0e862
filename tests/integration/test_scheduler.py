"""Two schedulers on one database: only the lock holder runs jobs, and the other takes over."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from tests.conftest import free_port
from tests.support import wait_for
from tiket.config import Settings, load
from tiket.errors import ConfigError
from tiket.gateway.scheduler import JobScheduler, run_job
from tiket.model import JobRun
from tiket.model.db import Database
from tiket.reports.jobs import JobContext, JobSpec


class Recorder:
    """The job: remembers which scheduler ran which period."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def spec(self, owner: str) -> JobSpec:
        def run(ctx: JobContext) -> str:
            with self.lock:
                self.calls.append((owner, ctx.period))
            return f"ran by {owner}"

        return JobSpec("tick", "every second", {"second": "*"}, per_second, run)

    def by(self, owner: str) -> int:
        with self.lock:
            return sum(1 for who, _ in self.calls if who == owner)


def per_second(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


def test_only_the_lock_holder_runs_jobs(db: Database, settings: Settings) -> None:
    recorder = Recorder()
    # two daemons: their own connections (and on SQLite the same var/ on one machine)
    first = JobScheduler(
        Database(settings.database_url),
        settings,
        b"s",
        {"tick": recorder.spec("first")},
        poll_seconds=0.2,
    )
    second = JobScheduler(
        Database(settings.database_url),
        settings,
        b"s",
        {"tick": recorder.spec("second")},
        poll_seconds=0.2,
    )
    first.start()
    wait_for(lambda: first.is_leader, what="the first scheduler to lead")
    second.start()
    try:
        wait_for(lambda: recorder.by("first") >= 3, timeout=20, what="three runs")
        assert not second.is_leader
        assert recorder.by("second") == 0
        first.stop()  # the leader's daemon stops: the other takes over
        wait_for(lambda: second.is_leader, timeout=20, what="the takeover")
        wait_for(lambda: recorder.by("second") >= 2, timeout=20, what="runs after the takeover")
    finally:
        first.stop()
        second.stop()
        first.db.dispose()
        second.db.dispose()
    periods = [period for _, period in recorder.calls]
    assert len(periods) == len(set(periods)), "a period ran twice"
    with db.session() as session:
        stored = session.scalar(
            select(func.count()).select_from(JobRun).where(JobRun.job == "tick")
        )
    assert stored == len(periods)


def test_a_bad_schedule_fails_at_start(settings: Settings) -> None:
    bad = replace(settings, scheduler=replace(settings.scheduler, digest_time="7 am"))
    with pytest.raises(ConfigError, match="not a time like 07:00"):
        JobScheduler(Database(settings.database_url), bad, b"s")
    bad = replace(settings, calendar=replace(settings.calendar, hours=("weekdays 8-4",)))
    with pytest.raises(ConfigError, match=r"calendar\.hours"):
        JobScheduler(Database(settings.database_url), bad, b"s")


def _dead_sqlite(tmp_path: Path) -> Database:
    """A database that cannot be opened: its file is a directory."""
    path = tmp_path / "gone.db"
    path.mkdir()
    return Database(f"sqlite:///{path}")


def _outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "reason=database_unavailable" in r.getMessage()]


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_database_outage_is_one_warning_line_per_job_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = load(env={})
    settings = replace(base, paths=replace(base.paths, var=str(tmp_path / "var")))
    recorder = Recorder()
    scheduler = JobScheduler(
        _dead_sqlite(tmp_path), settings, b"s", {"tick": recorder.spec("one")}, poll_seconds=0.1
    )
    with caplog.at_level(logging.INFO):
        scheduler.start()
        try:
            wait_for(lambda: len(_outage_lines(caplog)) >= 2, what="two failed ticks")
        finally:
            scheduler.stop()
            scheduler.db.dispose()
    assert recorder.calls == []
    assert _tracebacks(caplog) == []
    line = _outage_lines(caplog)[0]
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith("action=job_failed job=tick period=")
    assert "unable to open database file" in line.getMessage()


def test_the_lock_watch_says_once_that_the_database_is_away(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = load(env={})
    settings = replace(base, paths=replace(base.paths, var=str(tmp_path / "var")))
    nobody = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/tiket")
    scheduler = JobScheduler(nobody, settings, b"s", {}, poll_seconds=0.05)
    with caplog.at_level(logging.INFO):
        scheduler.start()
        try:
            wait_for(lambda: _outage_lines(caplog), what="the outage warning")
        finally:
            scheduler.stop()
            nobody.dispose()
    assert not scheduler.is_leader
    assert _tracebacks(caplog) == []
    (line,) = _outage_lines(caplog)
    assert line.getMessage().startswith("action=scheduler_waiting reason=database_unavailable")


def test_a_job_that_loses_the_database_fails_with_one_line(
    db: Database, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def run(ctx: JobContext) -> str:
        with _dead_sqlite(tmp_path).session() as session:
            session.execute(select(JobRun.id))
        return "unreachable"

    spec = JobSpec("tick", "every second", {"second": "*"}, per_second, run)
    with caplog.at_level(logging.INFO):
        outcome = run_job(db, settings, b"s", spec)
    assert outcome.state == "failed" and "database unavailable" in outcome.result
    assert _tracebacks(caplog) == []
    assert len(_outage_lines(caplog)) == 1
    with db.session() as session:
        assert session.scalar(select(JobRun.state).where(JobRun.job == "tick")) == "failed"


def test_a_bad_query_on_a_healthy_database_keeps_its_traceback(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def run(ctx: JobContext) -> str:
        with ctx.db.engine.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    spec = JobSpec("tick", "every second", {"second": "*"}, per_second, run)
    with caplog.at_level(logging.INFO):
        assert run_job(db, settings, b"s", spec).state == "failed"
    assert _outage_lines(caplog) == []
    (failure,) = _tracebacks(caplog)
    assert failure.getMessage().startswith("action=job_failed job=tick")
    assert failure.exc_info is not None
