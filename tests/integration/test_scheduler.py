"""Two schedulers on one database: only the lock holder runs jobs, and the other takes over."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.support import wait_for
from tiket.config import Settings
from tiket.errors import ConfigError
from tiket.gateway.scheduler import JobScheduler
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
