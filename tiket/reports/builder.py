"""One report: the figures of a period (month, year or range, optionally one team), from SQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute, Session

from tiket.model import Ticket, utcnow
from tiket.reports import queries
from tiket.reports.periods import Period, buckets, months_before
from tiket.reports.queries import UNKNOWN, Distribution, Scope

RESOLUTION_BINS = (
    (0, 60, "< 1 h"),
    (60, 240, "1–4 h"),
    (240, 480, "4–8 h"),
    (480, 960, "1–2 d"),
    (960, 2400, "2–5 d"),
    (2400, 4800, "5–10 d"),
    (4800, None, "> 10 d"),
)
TREND_MONTHS = 12

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TimeStats:
    """Business hours: median and 90th percentile, and the share within the SLA target."""

    count: int
    median_hours: float | None
    p90_hours: float | None
    within_sla: float | None

    @classmethod
    def of(cls, dist: Distribution) -> TimeStats:
        n = dist.total
        if not n:
            return cls(0, None, None, None)
        return cls(
            n,
            round(percentile(dist.counts, 0.5) / 60, 2),
            round(percentile(dist.counts, 0.9) / 60, 2),
            round(dist.met / n, 4),
        )


def percentile(counts: dict[int, int], share: float) -> int:
    """Nearest-rank percentile of a frequency table."""
    n = sum(counts.values())
    rank = max(1, -(-int(share * n * 1_000_000) // 1_000_000))  # ceil without float drift
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise ValueError("empty distribution")


@dataclass(frozen=True)
class TeamSla:
    team: str
    answered: int
    first_response_within: float | None
    resolved: int
    resolution_within: float | None


@dataclass(frozen=True)
class Problem:
    category: str
    subject: str
    tickets: int
    requesters: int
    agencies: int


@dataclass(frozen=True)
class Report:
    kind: str
    title: str
    period: str
    start: str
    end: str
    timezone: str
    team: str | None
    generated_at: str
    tickets_in: int
    tickets_closed: int
    tickets_in_by: dict[str, list[tuple[str, int]]]
    tickets_closed_by: dict[str, list[tuple[str, int]]]
    first_response: TimeStats
    resolution: TimeStats
    resolution_histogram: list[tuple[str, int]]
    sla_by_team: list[TeamSla]
    reopened: int
    reopen_rate: float | None
    backlog: list[tuple[str, int]]
    category_months: list[str]
    category_series: dict[str, list[int]]
    satisfaction_count: int
    satisfaction_average: float | None
    satisfaction_distribution: dict[int, int]
    top_problems: list[Problem]
    notes: list[str] = field(default_factory=list)

    @property
    def first_day(self) -> str:
        return self.start[:10]

    @property
    def last_day(self) -> str:
        """The period's last day (its end is the midnight after it)."""
        return (datetime.fromisoformat(self.end) - timedelta(days=1)).date().isoformat()


STEPS = 10  # calls of `progress` a report makes


Sessions = Callable[[], AbstractContextManager[Session]]


def build_report(
    sessions: Sessions,
    period: Period,
    *,
    title: str,
    team: tuple[int, str] | None = None,
    language: str = "en",
    top: int = 10,
    progress: Progress | None = None,
    now: datetime | None = None,
    workers: int = 4,
) -> Report:
    """Run the aggregates of the period side by side, each in a session of its own from
    `sessions`; `progress` is told as each of STEPS parts is done."""
    team_id = team[0] if team else None
    scope = Scope(period.start, period.end, team_id)
    with sessions() as session:
        categories, teams = queries.names(session, language)

    def counted(when: InstrumentedAttribute[Any]) -> Callable[[Session], Any]:
        return lambda s: queries.breakdown(s, scope, when)

    parts: dict[str, Callable[[Session], Any]] = {
        "in": counted(Ticket.created_at),
        "closed": counted(Ticket.closed_at),
        "first": lambda s: queries.time_distribution(s, scope, "first_response"),
        "resolution": lambda s: queries.time_distribution(s, scope, "resolution"),
        "sla": lambda s: queries.sla_by_team(s, scope),
        "reopened": lambda s: queries.reopened(s, scope),
        "backlog": lambda s: backlog(s, period, team_id),
        "categories": lambda s: category_months(s, period, team_id, categories),
        "ratings": lambda s: queries.ratings(s, scope),
        "problems": lambda s: queries.top_problems(s, scope, top, categories),
    }
    results = _run_parts(sessions, parts, progress, workers)
    data: dict[str, Any] = {}
    for key in ("in", "closed"):
        rows = results[key]
        data[f"tickets_{key}"] = sum(n for *_, n in rows)
        data[f"tickets_{key}_by"] = {
            "category": _fold(rows, lambda r: categories.get(r[0], UNKNOWN) if r[0] else UNKNOWN),
            "team": _fold(rows, lambda r: teams.get(r[1], UNKNOWN) if r[1] else UNKNOWN),
            "channel": _fold(rows, lambda r: r[2]),
            "agency": _fold(rows, lambda r: r[3]),
        }
    data["first_response"] = TimeStats.of(results["first"])
    data["resolution"] = TimeStats.of(results["resolution"])
    data["resolution_histogram"] = histogram(results["resolution"])
    data["sla_by_team"] = [
        TeamSla(name, a, _share(a_in, a), r, _share(r_in, r))
        for name, a, a_in, r, r_in in results["sla"]
    ]
    data["reopened"] = results["reopened"]
    data["reopen_rate"] = _share(data["reopened"], data["tickets_closed"])
    data["backlog"] = results["backlog"]
    data["category_months"], data["category_series"] = results["categories"]
    scores: dict[int, int] = results["ratings"]
    count = sum(scores.values())
    data["satisfaction_count"] = count
    data["satisfaction_average"] = (
        round(sum(s * n for s, n in scores.items()) / count, 2) if count else None
    )
    data["satisfaction_distribution"] = {s: scores.get(s, 0) for s in range(1, 6)}
    data["top_problems"] = [Problem(*row) for row in results["problems"]]
    tz = period.start.tzinfo
    return Report(
        kind=period.kind,
        title=title,
        period=period.label,
        start=period.start.isoformat(),
        end=period.end.isoformat(),
        timezone=str(tz),
        team=team[1] if team else None,
        generated_at=(now or utcnow()).astimezone(tz).isoformat(timespec="seconds"),
        **data,
    )


def _run_parts(
    sessions: Sessions,
    parts: dict[str, Callable[[Session], Any]],
    progress: Progress | None,
    workers: int,
) -> dict[str, Any]:
    """The database does the work (the driver lets go of the GIL while it waits), so threads
    with a connection each use every core of the database server."""
    lock = threading.Lock()

    def run(name: str) -> Any:
        with sessions() as session:
            result = parts[name](session)
        if progress is not None:
            with lock:
                progress(name)
        return result

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="report") as pool:
        futures = {name: pool.submit(run, name) for name in parts}
        return {name: future.result() for name, future in futures.items()}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def histogram(dist: Distribution) -> list[tuple[str, int]]:
    return [
        (label, sum(n for m, n in dist.counts.items() if m >= lo and (hi is None or m < hi)))
        for lo, hi, label in RESOLUTION_BINS
    ]


def backlog(session: Session, period: Period, team_id: int | None) -> list[tuple[str, int]]:
    """Open tickets (created, not yet resolved) at the end of each day or month of the period."""
    parts = buckets(period)
    edges = [parts[0][1], *(end for _, _, end in parts)]
    opened = queries.before(session, edges[0], Ticket.created_at, team_id)
    done = queries.before(session, edges[0], Ticket.resolved_at, team_id)
    created = queries.bucket_counts(session, edges, Ticket.created_at, team_id)
    resolved = queries.bucket_counts(session, edges, Ticket.resolved_at, team_id)
    level = opened - done
    series = []
    for index, (label, _, _) in enumerate(parts):
        level += created.get((index, None), 0) - resolved.get((index, None), 0)
        series.append((label, level))
    return series


def category_months(
    session: Session, period: Period, team_id: int | None, categories: dict[int, str]
) -> tuple[list[str], dict[str, list[int]]]:
    """Tickets in per category for each month (the twelve months up to the period's end)."""
    months = buckets(period) if period.kind == "year" else months_before(period, TREND_MONTHS)
    edges = [months[0][1], *(end for _, _, end in months)]
    counts = queries.bucket_counts(session, edges, Ticket.created_at, team_id, by_category=True)
    series: dict[str, list[int]] = {}
    for (index, category), n in counts.items():
        name = categories.get(category, UNKNOWN) if category is not None else UNKNOWN
        series.setdefault(name, [0] * len(months))[index] += n
    return [label for label, _, _ in months], dict(sorted(series.items()))


def _fold(
    rows: queries.Breakdown, key: Callable[[tuple[int | None, int | None, str, str, int]], str]
) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[key(row)] = totals.get(key(row), 0) + row[4]
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
