"""Report times at scale: fill SQLite and PostgreSQL with generated tickets, time each report.

    .venv/bin/python bench/reports.py --tickets 1000000            # fill both, then time
    .venv/bin/python bench/reports.py --tickets 20000 --backend sqlite
    .venv/bin/python bench/reports.py --no-fill --backend postgres # time an existing fill

Three years of tickets over 9 categories, 40 agencies and 4 teams, weighted to weekdays and
office hours, with five entries a ticket, reopenings and satisfaction answers. Every ticket's
first response and resolution are drawn in business minutes, so the SLA metrics are consistent.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import make_url, text

from tiket.config import Settings, load
from tiket.model import Category, Team
from tiket.model.db import Database
from tiket.model.migrate import upgrade
from tiket.model.seed import seed
from tiket.reports.calendar import BusinessCalendar
from tiket.reports.sla import set_target

TARGET_SECONDS = 2.0
YEARS = 3
AGENCIES = 40
REQUESTERS = 20_000
TEAMS = (
    ("apps", ("application", "email", "domain", "content")),
    ("network", ("network", "cctv")),
    ("infra", ("server", "security")),
)
CATEGORY_WEIGHTS = {
    "application": 26,
    "network": 24,
    "email": 14,
    "server": 8,
    "domain": 5,
    "cctv": 6,
    "security": 4,
    "content": 5,
    "others": 8,
}
PROBLEMS = {
    "application": [
        "tidak bisa login {app}",
        "{app} error saat simpan",
        "{app} lambat sekali",
        "lupa password {app}",
        "{app} force close",
    ],
    "network": [
        "wifi lantai {n} mati",
        "internet lambat di ruang {n}",
        "tidak dapat IP",
        "kabel LAN putus ruang {n}",
        "wifi tamu tidak bisa connect",
    ],
    "email": [
        "email dinas tidak bisa kirim",
        "kotak masuk penuh",
        "lupa password email",
        "email masuk spam",
        "buat akun email baru",
    ],
    "server": ["server {app} down", "hosting penuh", "minta VPS baru", "backup gagal"],
    "domain": ["subdomain baru untuk {app}", "website tidak bisa diakses", "SSL kedaluwarsa"],
    "cctv": ["CCTV pos {n} mati", "rekaman CCTV hilang", "kamera buram"],
    "security": ["website kena deface", "email phishing", "akun diretas"],
    "content": ["update berita di website", "banner tidak tampil", "unggah dokumen PPID"],
    "others": ["printer rusak", "minta pelatihan", "pinjam proyektor", "pertanyaan umum"],
}
APPS = ("SIMPEG", "e-Kinerja", "SRIKANDI", "SIPD", "e-Office", "LPSE")
CHANNELS = (("email", 60), ("whatsapp", 25), ("sms", 10), ("web", 5))
PRIORITIES = (("normal", 80), ("high", 15), ("low", 5))
ENTRY_KINDS = ("message", "reply", "note", "message", "reply")
BATCH = 20_000


def settings_for(url: str) -> Settings:
    base = load(env={})
    return replace(base, database=replace(base.database, url=url))


def prepare(url: str) -> tuple[Database, dict[str, int], dict[str, int]]:
    db = Database(url)
    upgrade(db)
    with db.session() as session:
        seed(session, team_mailbox="support@bench.test")
        teams = {"support": session.query(Team).filter_by(name="support").one().id}
        for name, slugs in TEAMS:
            team = Team(name=name, title=name, mailbox=f"{name}@bench.test", managers=[])
            session.add(team)
            session.flush()
            teams[name] = team.id
            for category in session.query(Category).filter(Category.slug.in_(slugs)):
                category.team_id = team.id
        set_target(session, "*", "high", 60, 480)  # the targets `generate` draws against
        categories = {c.slug: c.id for c in session.query(Category)}
        team_of = {c.slug: c.team_id or teams["support"] for c in session.query(Category)}
    return db, categories, team_of


def weighted(rng: random.Random, items: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([i for i, _ in items], [w for _, w in items])[0]


def generate(
    tickets: int,
    entries_per_ticket: int,
    calendar: BusinessCalendar,
    categories: dict[str, int],
    team_of: dict[str, int],
    end: datetime,
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Rows per table in batches: ("requesters", rows), ("tickets", rows), ... in FK order."""
    rng = random.Random(7)
    agencies = [f"Dinas {i:02d}" for i in range(AGENCIES)]
    agency_weight = [1 / (i + 1) ** 0.7 for i in range(AGENCIES)]
    requester_agency = rng.choices(range(AGENCIES), agency_weight, k=REQUESTERS)
    made = datetime(2020, 1, 1, tzinfo=UTC)
    yield (
        "requesters",
        [
            (
                i + 1,
                f"Pegawai {i}",
                f"pegawai{i}@dinas{requester_agency[i]:02d}.go.id",
                agencies[requester_agency[i]],
                made,
            )
            for i in range(REQUESTERS)
        ],
    )
    start = end - timedelta(days=365 * YEARS)
    span = (end - start).total_seconds()
    slugs = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    # created times in order, denser later (the service grows) and on working days and hours
    created = sorted(start + timedelta(seconds=span * rng.random() ** 0.8) for _ in range(tickets))
    tickets_rows: list[tuple[Any, ...]] = []
    metric_rows: list[tuple[Any, ...]] = []
    entry_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    entry_id = event_id = 0
    for index, moment in enumerate(created):
        ticket_id = index + 1
        local = moment.astimezone(calendar.tz)
        if local.weekday() >= 5 and rng.random() < 0.8:  # most weekend tickets move to Monday
            moment += timedelta(days=7 - local.weekday())
        slug = rng.choices(slugs, weights)[0]
        requester = rng.randrange(REQUESTERS) + 1
        problem = rng.choice(PROBLEMS[slug]).format(app=rng.choice(APPS), n=rng.randint(1, 4))
        first_minutes = int(rng.lognormvariate(4.3, 1.0))  # median ~75 business minutes
        resolve_minutes = first_minutes + int(rng.lognormvariate(6.0, 1.1))  # ~7 h more
        first_at = calendar.add(moment, first_minutes * 60)
        resolved_at: datetime | None = calendar.add(moment, resolve_minutes * 60)
        closed_at: datetime | None = resolved_at + timedelta(days=rng.choice((0, 1, 2, 7)))  # type: ignore[operator]
        status = "closed"
        if closed_at is not None and closed_at > end:
            status, closed_at = "resolved", None
        if resolved_at is not None and resolved_at > end:
            status, resolved_at = ("open" if rng.random() < 0.7 else "pending"), None
        if first_at > end:
            first_at, status = None, "new"  # type: ignore[assignment]
        priority = weighted(rng, PRIORITIES)
        target_first, target_resolve = (60, 480) if priority == "high" else (240, 1440)
        tickets_rows.append(
            (
                ticket_id,
                f"B{ticket_id:09d}",
                problem,
                status,
                priority,
                weighted(rng, CHANNELS),
                "id",
                categories[slug],
                team_of[slug],
                requester,
                moment,
                closed_at or resolved_at or first_at or moment,
                first_at,
                resolved_at,
                closed_at,
            )
        )
        metric_rows.append(
            (
                ticket_id,
                team_of[slug],
                first_at,
                resolved_at,
                first_minutes if first_at else None,
                resolve_minutes if resolved_at else None,
                first_minutes <= target_first if first_at else None,
                resolve_minutes <= target_resolve if resolved_at else None,
            )
        )
        times = [moment, first_at or moment, resolved_at or moment, closed_at or moment]
        for n in range(entries_per_ticket):
            entry_id += 1
            kind = ENTRY_KINDS[n % len(ENTRY_KINDS)]
            when = times[min(n, 3)] + timedelta(minutes=n)
            entry_rows.append(
                (
                    entry_id,
                    ticket_id,
                    kind,
                    "email",
                    "in" if kind == "message" else "out",
                    f"{problem} (pesan {n + 1})",
                    "",
                    "",
                    "",
                    "",
                    when,
                )
            )
        if closed_at is not None and rng.random() < 0.03:
            event_id += 1
            event_rows.append(
                (
                    event_id,
                    ticket_id,
                    "status",
                    "system",
                    json.dumps({"old": "closed", "new": "open"}),
                    closed_at + timedelta(hours=2),
                )
            )
        if resolved_at is not None and rng.random() < 0.25:
            event_id += 1
            score = rng.choices((1, 2, 3, 4, 5), (3, 5, 12, 40, 40))[0]
            event_rows.append(
                (
                    event_id,
                    ticket_id,
                    "survey_rated",
                    "requester",
                    json.dumps({"rating": score}),
                    resolved_at + timedelta(hours=20),
                )
            )
        if len(tickets_rows) >= BATCH:
            yield "tickets", tickets_rows
            yield "ticket_metrics", metric_rows
            yield "entries", entry_rows
            yield "events", event_rows
            tickets_rows, metric_rows, entry_rows, event_rows = [], [], [], []
    for table, rows in (
        ("tickets", tickets_rows),
        ("ticket_metrics", metric_rows),
        ("entries", entry_rows),
        ("events", event_rows),
    ):
        if rows:
            yield table, rows


COLUMNS = {
    "requesters": "id, name, email, organisation, created_at",
    "tickets": "id, number, subject, status, priority, channel, language, category_id, team_id, "
    "requester_id, created_at, updated_at, first_response_at, resolved_at, closed_at",
    "ticket_metrics": "ticket_id, team_id, first_response_at, resolved_at, first_response_minutes, "
    "resolution_minutes, first_response_met, resolution_met",
    "entries": "id, ticket_id, kind, channel, direction, body, author_name, author_address, "
    "subject, quoted, created_at",
    "events": "id, ticket_id, kind, actor, data, created_at",
}


def fill(db: Database, rows: Iterator[tuple[str, list[tuple[Any, ...]]]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    raw: Any = db.engine.raw_connection()
    try:
        if db.is_sqlite:
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("BEGIN")
        cursor = raw.cursor()
        for table, batch in rows:
            columns = COLUMNS[table]
            if db.is_sqlite:
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(batch[0]))})",
                    [tuple(_sqlite(v) for v in row) for row in batch],
                )
            else:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            counts[table] = counts.get(table, 0) + len(batch)
            if table == "events":
                print(f"\r  {counts.get('tickets', 0):>9,} tickets", end="", file=sys.stderr)
        raw.commit()
    finally:
        raw.close()
    print(file=sys.stderr)
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            for table in COLUMNS:
                if table != "ticket_metrics":
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
    # what autovacuum does on a live database: statistics, and the visibility map that lets
    # PostgreSQL answer from an index alone
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))
    return counts


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return value


def create(backend: str, args: argparse.Namespace) -> str:
    if backend == "sqlite":
        path = Path(args.sqlite_path)
        if args.fill:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = make_url(args.postgres_url)
    url = admin.set(database=args.postgres_db).render_as_string(hide_password=False)
    if args.fill:
        from sqlalchemy import create_engine

        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{args.postgres_db}"'))
            conn.execute(text(f'CREATE DATABASE "{args.postgres_db}"'))
        engine.dispose()
    return url


def time_reports(url: str, end: datetime, repeat: int) -> list[tuple[str, float, float]]:
    from tiket.reports.service import ReportService

    settings = settings_for(url)
    service = ReportService(Database(url), settings)
    tz = service.calendar().tz
    local_end = end.astimezone(tz).date()
    last_month = (local_end.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    quarter_from = local_end - timedelta(days=91)
    jobs = {
        f"monthly {last_month}": lambda: service.monthly(last_month),
        f"annual {local_end.year - 1}": lambda: service.annual(local_end.year - 1),
        f"team network {quarter_from}..{local_end}": lambda: service.team(
            "network", quarter_from, local_end
        ),
        "trends (4 weeks)": lambda: service.trends(local_end - timedelta(days=28), now=end),
    }
    results = []
    for name, job in jobs.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            job()
            times.append(time.perf_counter() - started)
        results.append((name, min(times), statistics.median(times)))
    service.db.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--entries-per-ticket", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--sqlite-path", default="/tmp/tiket-bench/reports.db")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--postgres-db", default="tiket_bench_reports")
    parser.add_argument("--no-fill", dest="fill", action="store_false")
    parser.add_argument("--no-time", dest="time", action="store_false")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--end", default="2026-11-20", help="last day of the generated data")
    args = parser.parse_args()
    end = datetime.combine(date.fromisoformat(args.end), datetime.min.time(), tzinfo=UTC)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        url = create(backend, args)
        if args.fill:
            started = time.perf_counter()
            db, categories, team_of = prepare(url)
            calendar = BusinessCalendar.build("Asia/Makassar", load(env={}).calendar.hours)
            counts = fill(
                db,
                generate(args.tickets, args.entries_per_ticket, calendar, categories, team_of, end),
            )
            db.dispose()
            print(f"{backend}: filled {counts} in {time.perf_counter() - started:.0f} s")
        if args.time:
            print(
                f"{backend}: report times, best and median of {args.repeat} "
                f"(target {TARGET_SECONDS:.0f} s)"
            )
            for name, best, median in time_reports(url, end, args.repeat):
                mark = "ok" if best <= TARGET_SECONDS else "SLOW"
                print(f"  {name:<42} best {best:6.2f} s  median {median:6.2f} s  {mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
