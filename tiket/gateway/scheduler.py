"""The scheduler in `tiket serve`: stable job ids, one runner at a time, each period run once."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tiket.config import Settings
from tiket.errors import DatabaseUnavailable, NotFound
from tiket.model import JobRun, utcnow
from tiket.model.db import Database
from tiket.reports.calendar import parse_hours, zone
from tiket.reports.jobs import JobContext, JobSpec, job_specs

log = logging.getLogger(__name__)

# A run still marked running after this long died with its daemon: the next tick takes over.
STALE_RUN = timedelta(minutes=30)
MISFIRE_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class Outcome:
    job: str
    period: str
    state: str  # done, failed, skipped
    result: str


def run_job(
    db: Database,
    settings: Settings,
    secret: bytes,
    spec: JobSpec,
    *,
    now: datetime | None = None,
    force: bool = False,
) -> Outcome:
    """Run the job for the period `now` falls in, unless that period is done (or running).

    `force` runs a done period again; mail jobs still send nothing twice (JobSend keys).
    """
    now = now or utcnow()
    period = spec.period(now, zone(settings.calendar.timezone))
    claimed = _claim(db, spec.name, period, now, force)
    if claimed is not None:
        return Outcome(spec.name, period, "skipped", claimed)
    context = JobContext(db, settings, secret, now, spec.name, period)
    try:
        result = spec.run(context)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        if not database_down(db, exc):
            log.exception("action=job_failed job=%s period=%s", spec.name, period)
            _finish(db, spec.name, period, "failed", message)
            return Outcome(spec.name, period, "failed", message)
        _log_outage(spec.name, period, exc)
        # Most likely the database is still away: the run then stays 'running' until STALE_RUN.
        with contextlib.suppress(DatabaseUnavailable):
            _finish(db, spec.name, period, "failed", message)
        return Outcome(spec.name, period, "failed", message)
    _finish(db, spec.name, period, "done", result)
    log.info("action=job_done job=%s period=%s result=%s", spec.name, period, result)
    return Outcome(spec.name, period, "done", result)


def database_down(db: Database, exc: BaseException) -> bool:
    """The error is the database being away (down, unreachable, its disk full), not a bug.

    Sessions already say DatabaseUnavailable; a driver error from elsewhere (a report reading
    through the engine, the advisory lock's connection) counts when the database does not
    answer now either, so that a bad query on a healthy database keeps its traceback.
    """
    if isinstance(exc, DatabaseUnavailable):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    try:
        db.check()
    except DatabaseUnavailable:
        return True
    return False


def _log_outage(job: str, period: str, exc: BaseException) -> None:
    # One line per run: a traceback at each tick of every job would bury what went wrong.
    log.warning(
        "action=job_failed job=%s period=%s reason=database_unavailable error=%s",
        job,
        period,
        _first_line(exc),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _claim(db: Database, job: str, period: str, now: datetime, force: bool) -> str | None:
    """None when this call may run the period; else why not."""
    try:
        with db.session() as session:
            row = session.scalar(select(JobRun).where(JobRun.job == job, JobRun.period == period))
            if row is None:
                session.add(JobRun(job=job, period=period, state="running", started_at=now))
                return None
            if row.state == "done" and not force:
                return f"already done for {period}"
            if row.state == "running" and row.started_at > now - STALE_RUN:
                return f"running since {row.started_at.isoformat(timespec='seconds')}"
            row.state, row.started_at, row.finished_at = "running", now, None
            row.attempts += 1
            return None
    except IntegrityError:
        return f"claimed by another runner for {period}"


def _finish(db: Database, job: str, period: str, state: str, result: str) -> None:
    with db.session() as session:
        row = session.scalar(select(JobRun).where(JobRun.job == job, JobRun.period == period))
        if row is not None:
            row.state, row.result, row.finished_at = state, result[:2000], utcnow()


def last_runs(db: Database) -> dict[str, JobRun]:
    with db.session() as session:
        rows = session.scalars(select(JobRun).order_by(JobRun.started_at, JobRun.id)).all()
    return {row.job: row for row in rows}


def trigger(spec: JobSpec, settings: Settings) -> CronTrigger:
    return CronTrigger(timezone=zone(settings.calendar.timezone), **spec.cron)


def next_run(spec: JobSpec, settings: Settings, now: datetime | None = None) -> datetime | None:
    fire: datetime | None = trigger(spec, settings).get_next_fire_time(None, now or utcnow())
    return fire


def spec_named(settings: Settings, name: str) -> JobSpec:
    specs = job_specs(settings)
    if name not in specs:
        raise NotFound(f"no job {name!r}; `tiket jobs list` shows the jobs")
    return specs[name]


class Leadership:
    """Who may run jobs: the holder of a PostgreSQL advisory lock, or on SQLite of a lock file
    beside the database (the embedded setup is one machine)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._connection: Connection | None = None
        self._file: int | None = None

    def try_acquire(self) -> bool:
        if self.db.is_sqlite:
            return self._lock_file()
        if self._connection is not None:
            return True
        connection = self.db.engine.connect()
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self.settings.scheduler.lock_key}
        ).scalar()
        connection.commit()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        if self._connection is None:
            return self._file is not None
        try:
            self._connection.execute(text("SELECT 1")).scalar()
            self._connection.commit()
            return True
        except Exception:
            log.warning("action=scheduler_lock_lost")
            self._connection.invalidate()
            self._connection = None
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"),
                    {"key": self.settings.scheduler.lock_key},
                )
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
        if self._file is not None:
            os.close(self._file)  # closing drops the flock
            self._file = None

    def _lock_file(self) -> bool:
        if self._file is not None:
            return True
        path = self.settings.var_dir / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._file = fd
        return True


class JobScheduler:
    """A BackgroundScheduler started only while this daemon holds the leadership; a thread
    tries to take it over every `poll_seconds` and checks that it still holds it."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        secret: bytes,
        specs: dict[str, JobSpec] | None = None,
        *,
        poll_seconds: float = 10.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.secret = secret
        self.specs = specs if specs is not None else job_specs(settings)
        for spec in self.specs.values():  # a bad time or zone fails at start, not at night
            trigger(spec, settings)
        parse_hours(settings.calendar.hours)
        self.poll_seconds = poll_seconds
        self.leadership = Leadership(db, settings)
        # APScheduler logs every run at INFO; ours say the same with the job's period and result.
        if logging.getLogger("apscheduler").level == logging.NOTSET:
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="scheduler-lock", daemon=True)

    @property
    def is_leader(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _watch(self) -> None:
        away = False  # the database was away at the last step: said once, not every poll
        while not self._stop.is_set():
            try:
                self._step()
                if away:
                    log.info("action=scheduler_database_back")
                away = False
            except Exception as exc:
                if not database_down(self.db, exc):
                    log.exception("action=scheduler_error")
                elif not away:
                    away = True
                    log.warning(
                        "action=scheduler_waiting reason=database_unavailable error=%s",
                        _first_line(exc),
                    )
            self._stop.wait(self.poll_seconds)
        self._stand_down()

    def _step(self) -> None:
        if self._scheduler is None:
            if self.leadership.try_acquire():
                self._start_jobs()
        elif not self.leadership.still_held():
            self._stand_down()

    def _start_jobs(self) -> None:
        scheduler = BackgroundScheduler(timezone=zone(self.settings.calendar.timezone))
        for spec in self.specs.values():
            scheduler.add_job(
                self._fire,
                trigger(spec, self.settings),
                args=[spec],
                id=spec.name,
                name=spec.description,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("action=scheduler_leading jobs=%s", ",".join(self.specs))

    def _stand_down(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
            log.info("action=scheduler_stopped")
        self.leadership.release()

    def _fire(self, spec: JobSpec) -> Any:
        try:
            return run_job(self.db, self.settings, self.secret, spec)
        except Exception as exc:  # the run could not even be claimed or recorded
            if not database_down(self.db, exc):
                raise  # a bug: APScheduler logs it with its traceback
            period = spec.period(utcnow(), zone(self.settings.calendar.timezone))
            _log_outage(spec.name, period, exc)
            return None
