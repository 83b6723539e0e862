"""Ingest benchmark: a real daemon, real SMTP clients, a sink smarthost; prints the figures.

    .venv/bin/python bench/ingest.py [--mails 2000] [--clients 4] [--postgres URL]
    .venv/bin/python bench/ingest.py --postgres URL --daemons 2 [--mails 1000]

Phases: (1) the accept rate of a no-op aiosmtpd handler on this machine; (2) N generated mails
(70 % new, 30 % replies to earlier ones, 20 % with a 50 KB PDF, Indonesian and English) sent by C
clients to `tiket serve`: accepted msg/s, and processed msg/s until every answer reached the
sink; (3) 100 msg/s offered for a few seconds: latency from 250 to the acknowledgement at the
sink, p50/p99; (4) one mail with a 25 MB attachment: peak RSS before and after. Everything
binds 127.0.0.1 and stops by itself.

With `--daemons 2` (or `--compare`) on PostgreSQL, phase (2) runs twice on fresh databases, with
one daemon and then with N daemons sharing the database, the clients spread over their SMTP
ports and a share of the mails (`--resend`) delivered to two daemons; each run prints its rates,
CPU use, and the duplicate check: one ticket per new mail, one entry per delivered mail, each
answer once at the sink, replies on their parent's ticket, nothing left queued.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = [
    (
        "Wifi di kantor mati",
        "Selamat pagi, jaringan wifi di lantai {n} mati sejak pagi. Mohon bantuan.",
    ),
    ("Internet lambat", "Internet di ruang rapat sangat lambat, tidak bisa membuka aplikasi."),
    ("Lupa password email dinas", "Saya lupa password email dinas, mohon direset."),
    ("Aplikasi SIMPEG error", "Aplikasi SIMPEG muncul error 500 saat menyimpan data pegawai."),
    ("CCTV lobby tidak merekam", "Kamera CCTV di lobby tidak ada rekaman sejak kemarin."),
    ("Server storage full", "The file server storage is full, we cannot save documents."),
    ("Domain expired", "Our agency website domain has expired and the site is down."),
    ("Phishing email", "We received a phishing email asking for passwords, please check."),
    ("Website content update", "Please publish the attached announcement on the agency website."),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """The smarthost: records when each answer arrived, keyed by what it answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.acks: dict[str, float] = {}  # In-Reply-To of an acknowledgement → arrival time
        self.ack_counts: Counter[str] = Counter()  # In-Reply-To → acknowledgements received
        self.message_ids: Counter[str] = Counter()  # Message-ID of each answer → times received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content
        now = time.monotonic()
        head = raw.split(b"\r\n\r\n", 1)[0]
        with self.lock:
            self.count += 1
            self.message_ids[_header(head, b"message-id")] += 1
            if b"X-Tiket-Ticket" in head and b"\r\nTo: support-team" not in head:
                answered = _header(head, b"in-reply-to")
                if answered:
                    self.acks.setdefault(answered, now)
                    self.ack_counts[answered] += 1
        return "250 OK"


def _header(head: bytes, name: bytes) -> str:
    """The first value of a (short, unfolded) header, or ""."""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(name + b":"):
            return line.split(b":", 1)[1].strip().decode()
    return ""


class NoOp:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def pdf(size: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(size) + b"\n%%EOF\n"


def make_mails(count: int, seed: int = 7) -> list[tuple[bytes, str, bool]]:
    """(raw, message-id, is_new) in sending order."""
    rng = random.Random(seed)
    sent: list[str] = []
    mails = []
    for index in range(count):
        is_new = not sent or rng.random() < 0.7
        subject, body = SUBJECTS[index % len(SUBJECTS)]
        msg = EmailMessage()
        sender = f"user{rng.randrange(400)}@dinas{rng.randrange(40)}.example"
        msg["From"] = f"Pegawai {index} <{sender}>"
        msg["To"] = "helpdesk@tiket.test"
        message_id = make_msgid(domain="bench.example")
        msg["Message-ID"] = message_id
        if is_new:
            msg["Subject"] = subject
            msg.set_content(body.format(n=index % 5 + 1) + "\n\nTerima kasih.\n")
        else:
            parent = rng.choice(sent)
            msg["Subject"] = "Re: " + subject
            msg["In-Reply-To"] = parent
            msg["References"] = parent
            msg.set_content("Masih belum bisa, mohon dicek lagi.\n\n> " + body)
        if rng.random() < 0.2:
            msg.add_attachment(
                pdf(50_000), maintype="application", subtype="pdf", filename="laporan.pdf"
            )
        if is_new:
            sent.append(message_id)
        mails.append((msg.as_bytes(policy=SMTP), message_id, is_new))
    return mails


def send_all(
    port: int | Sequence[int],
    mails: list[tuple[bytes, str, bool]],
    clients: int,
    accepted: dict[str, float] | None = None,
) -> float:
    """Send with `clients` connections (spread over the ports given); returns the seconds until
    the last 250."""
    ports = [port] if isinstance(port, int) else list(port)
    chunks = [mails[i::clients] for i in range(clients)]
    errors: list[BaseException] = []

    def worker(index: int, chunk: list[tuple[bytes, str, bool]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", ports[index % len(ports)], timeout=60) as client:
                for raw, message_id, _ in chunk:
                    client.sendmail("bench@bench.example", ["helpdesk@tiket.test"], raw)
                    if accepted is not None:
                        accepted[message_id] = time.monotonic()
        except BaseException as exc:
            errors.append(exc)

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(chunks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.monotonic() - start


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def wait(predicate: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic()


def database_url(args: argparse.Namespace, workdir: Path) -> tuple[str, Any]:
    if not args.postgres:
        return f"sqlite:///{workdir / 'tiket.db'}", None
    from sqlalchemy import create_engine, make_url, text

    name = f"tiket_bench_{secrets.token_hex(4)}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(args.postgres).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=100.0, help="offered msg/s, latency phase")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the latency phase")
    parser.add_argument("--postgres", help="a PostgreSQL admin URL: bench there, not on SQLite")
    parser.add_argument("--daemons", type=int, default=1, help="daemons sharing the database")
    parser.add_argument(
        "--compare", action="store_true", help="run one daemon, then --daemons (default 2)"
    )
    parser.add_argument(
        "--resend", type=float, default=0.05, help="share of mails delivered twice (shared runs)"
    )
    args = parser.parse_args()
    counts = [1]
    if args.compare or args.daemons > 1:
        counts = [1, max(2, args.daemons)]
        if not args.postgres:
            parser.error("daemons share a PostgreSQL database: give --postgres URL")

    noop_port = free_port()
    noop = Controller(NoOp(), hostname="127.0.0.1", port=noop_port, server_hostname="noop")
    noop.start()
    sample = make_mails(min(args.mails, 1000), seed=1)
    noop_rate = len(sample) / send_all(noop_port, sample, args.clients)
    noop.stop()

    if counts == [1]:
        with Bench(args, 1) as bench:
            run_phases(args, bench.sink, bench.ports[0], bench.pids[0], noop_rate, bench.url)
        return
    print(f"no-op accept       {noop_rate:8.0f} msg/s (aiosmtpd handler that stores nothing)")
    results = []
    for count in counts:
        with Bench(args, count) as bench:
            results.append(run_shared(args, bench))
    print()
    print("daemons  accepted msg/s  end-to-end msg/s  duplicates")
    for result in results:
        print(
            f"{result.daemons:7d}  {result.accepted:14.0f}  {result.end_to_end:16.0f}  "
            f"{result.duplicates:10d}"
        )
    if any(result.duplicates for result in results):
        raise SystemExit("duplicates or lost messages: see the checks above")


class Bench:
    """A sink smarthost, a fresh database, and `count` daemons on it (ports and var/ of their
    own, one config otherwise); everything is stopped and dropped on exit."""

    def __init__(self, args: argparse.Namespace, count: int) -> None:
        self.args = args
        self.count = count
        self.sink = Sink()
        self.sink_port = free_port()
        self.ports = [free_port() for _ in range(count)]
        self.http_ports = [free_port() for _ in range(count)]
        self.pids: list[int] = []
        self.url = ""
        self._server = Controller(
            self.sink, hostname="127.0.0.1", port=self.sink_port, server_hostname="sink"
        )
        self._tmp = tempfile.TemporaryDirectory(prefix="tiket-bench-")
        self._drop: Any = None
        self._daemons: list[subprocess.Popen[bytes]] = []
        self._logs: list[Any] = []

    def __enter__(self) -> Bench:
        self._server.start()
        workdir = Path(self._tmp.name)
        self.url, self._drop = database_url(self.args, workdir)
        try:
            configs = [self._config(workdir / f"daemon{n}", n) for n in range(self.count)]
            tiket = [sys.executable, "-m", "tiket", "--config", str(configs[0])]
            subprocess.run([*tiket, "init"], check=True, capture_output=True, cwd=workdir)
            subprocess.run(
                [*tiket, "teams", "edit", "support", "--mailbox", TEAM_MAILBOX],
                check=True,
                capture_output=True,
                cwd=workdir,
            )
            for config in configs:
                log = open(config.parent / "daemon.log", "wb")
                self._logs.append(log)
                self._daemons.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "tiket", "--config", str(config), "serve"],
                        cwd=config.parent,
                        stdout=log,
                        stderr=log,
                    )
                )
            self.pids = [daemon.pid for daemon in self._daemons]
            for port in self.ports:
                wait(lambda port=port: _listening(port), 60, "the daemon")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _config(self, home: Path, index: int) -> Path:
        home.mkdir()
        config = home / "tiket.toml"
        config.write_text(
            f'[paths]\nvar = "{home / "var"}"\n[database]\nurl = "{self.url}"\n'
            # one secret for all: a daemon must accept the signed addresses another one made
            '[mail]\naddress = "helpdesk@tiket.test"\nsecret = "bench-secret"\n'
            f'[smtp]\nlisten = "127.0.0.1:{self.ports[index]}"\n'
            "max_message_bytes = 67108864\n"
            f'[outbound]\nsmarthost = "127.0.0.1:{self.sink_port}"\n'
            f'[http]\nlisten = "127.0.0.1:{self.http_ports[index]}"\n'
            "[limits]\nper_recipient_window = 100000\nper_recipient_day = 100000\n"
            'per_ticket_day = 100000\n[log]\nlevel = "warning"\n'
        )
        return config

    def __exit__(self, *exc: object) -> None:
        for daemon in self._daemons:
            daemon.terminate()
        for daemon in self._daemons:
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(5)
        for log in self._logs:
            log.close()
        self._server.stop()
        if self._drop:
            self._drop()
        self._tmp.cleanup()


TEAM_MAILBOX = "support-team@tiket-bench.example"


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def run_phases(
    args: argparse.Namespace, sink: Sink, port: int, pid: int, noop_rate: float, url: str
) -> None:
    mails = make_mails(args.mails)
    new = sum(1 for _, _, is_new in mails if is_new)
    expected = 2 * new + (len(mails) - new)  # ack + team notice per new one, notice per reply
    start = time.monotonic()
    accept_seconds = send_all(port, mails, args.clients)
    done = wait(lambda: sink.count >= expected, 900, f"{expected} answers at the sink")
    steady_rss = rss_kb(pid, "VmRSS")
    print(f"database           {url.split(':', 1)[0]}")
    print(
        f"mails              {len(mails)} ({new} new, {len(mails) - new} replies), "
        f"{args.clients} clients"
    )
    print(f"no-op accept       {noop_rate:8.0f} msg/s (aiosmtpd handler that stores nothing)")
    print(
        f"durable accept     {len(mails) / accept_seconds:8.0f} msg/s "
        f"({len(mails) / accept_seconds / noop_rate:.0%} of no-op)"
    )
    print(
        f"end to end         {len(mails) / (done - start):8.0f} msg/s "
        f"(until all {expected} answers reached the sink)"
    )

    # Latency at a steady offered rate: from our 250 to the acknowledgement at the sink. Mail i
    # is due at start + i/rate; the clients take the next due mail, so one slow transaction
    # does not slow the offered rate (as long as a client is free).
    latency_mails = [m for m in make_mails(int(args.rate * args.seconds), seed=99) if m[2]]
    accepted: dict[str, float] = {}
    queue = iter(enumerate(latency_mails))
    lock = threading.Lock()
    phase_start = time.monotonic() + 0.5

    def offer() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                index, (raw, message_id, _) = item
                time.sleep(max(0.0, phase_start + index / args.rate - time.monotonic()))
                client.sendmail("bench@bench.example", ["helpdesk@tiket.test"], raw)
                accepted[message_id] = time.monotonic()

    offerers = [threading.Thread(target=offer) for _ in range(args.clients)]
    for thread in offerers:
        thread.start()
    for thread in offerers:
        thread.join()
    achieved = len(latency_mails) / (time.monotonic() - phase_start)
    wait(lambda: all(m in sink.acks for m in accepted), 120, "every acknowledgement")
    latencies = sorted((sink.acks[m] - t) * 1000 for m, t in accepted.items())
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"latency @{args.rate:.0f}/s     p50 {statistics.median(latencies):6.1f} ms   "
        f"p99 {p99:6.1f} ms   ({len(latencies)} acknowledgements, "
        f"{achieved:.0f} msg/s achieved by {args.clients} clients)"
    )
    print(
        f"RSS                steady {steady_rss / 1024:6.1f} MB   "
        f"peak {rss_kb(pid, 'VmHWM') / 1024:6.1f} MB"
    )

    before = rss_kb(pid, "VmHWM")
    big = EmailMessage()
    big["From"], big["To"], big["Subject"] = "big@dinas.example", "helpdesk@tiket.test", "scan"
    big["Message-ID"] = make_msgid(domain="bench.example")
    big.set_content("Hasil scan terlampir.")
    big.add_attachment(
        pdf(25 * 1024 * 1024), maintype="application", subtype="pdf", filename="scan.pdf"
    )
    count = sink.count
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.sendmail("big@dinas.example", ["helpdesk@tiket.test"], big.as_bytes(policy=SMTP))
    wait(lambda: sink.count >= count + 2, 300, "the big mail's answers")
    after = rss_kb(pid, "VmHWM")
    print(
        f"25 MB attachment   peak RSS {before / 1024:6.1f} → {after / 1024:6.1f} MB "
        f"(+{(after - before) / 1024:.1f} MB, {(after - before) / 1024 / 25:.1f}× its size)"
    )


@dataclass(frozen=True)
class SharedResult:
    daemons: int
    accepted: float  # deliveries answered 250 a second
    end_to_end: float  # mails a second until every answer reached the sink
    duplicates: int  # everything the checks found twice, missing or left queued


def with_resends(
    mails: list[tuple[bytes, str, bool]], share: float, clients: int, seed: int = 11
) -> list[tuple[bytes, str, bool]]:
    """The load with a share of the mails delivered twice: each copy lands `clients + 1` places
    after its original, so the next client (on two daemons: the other daemon) sends it at about
    the same moment."""
    rng = random.Random(seed)
    load = list(mails)
    for index in range(len(mails) - 1, -1, -1):
        if rng.random() < share:
            load.insert(min(len(load), index + clients + 1), mails[index])
    return load


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU seconds of every process named postgres on this machine (the server and backends)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_shared(args: argparse.Namespace, bench: Bench) -> SharedResult:
    """Phase (2) on `bench.count` daemons: rates, where the CPU went, and the duplicate check."""
    mails = make_mails(args.mails)
    load = with_resends(mails, args.resend, args.clients)
    new = sum(1 for _, _, is_new in mails if is_new)
    expected = 2 * new + (len(mails) - new)  # ack + team notice per new one, notice per reply
    cpu_before = [cpu_seconds(pid) for pid in bench.pids]
    pg_before, own_before, busy_before = postgres_cpu(), sum(os.times()[:2]), machine_busy()
    start = time.monotonic()
    accept_seconds = send_all(bench.ports, load, args.clients)
    done = wait(lambda: bench.sink.count >= expected, 900, f"{expected} answers at the sink")
    cpu = [cpu_seconds(pid) - before for pid, before in zip(bench.pids, cpu_before, strict=True)]
    pg_cpu, own_cpu, busy_after = postgres_cpu(), sum(os.times()[:2]), machine_busy()
    wait(lambda: _settled(bench.url), 120, "the queues to empty")
    elapsed = done - start
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    print()
    print(
        f"{bench.count} daemon(s)       {len(mails)} mails ({new} new, {len(mails) - new} "
        f"replies) + {len(load) - len(mails)} delivered twice, {args.clients} clients"
    )
    print(f"  durable accept   {len(load) / accept_seconds:8.0f} msg/s")
    print(
        f"  end to end       {len(mails) / elapsed:8.0f} msg/s "
        f"(until all {expected} answers reached the sink)"
    )
    print(
        f"  CPU seconds      daemons {' + '.join(f'{c:.1f}' for c in cpu)}, "
        f"postgres {pg_cpu - pg_before:.1f}, bench clients and sink {own_cpu - own_before:.1f}; "
        f"machine busy {busy:.0%} of {os.cpu_count()} cores"
    )
    problems = check_shared(bench, mails)
    for line in problems.lines:
        print(f"  {line}")
    return SharedResult(
        bench.count, len(load) / accept_seconds, len(mails) / elapsed, problems.count
    )


def _settled(url: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return not conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM inbound_messages WHERE state = 'queued')"
                    " + (SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending'))"
                )
            ).scalar()
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Checked:
    count: int
    lines: list[str]


def check_shared(bench: Bench, mails: list[tuple[bytes, str, bool]]) -> Checked:
    """Count what should be exactly once: tickets per new mail, entries per mail, answers at
    the sink per Message-ID and acknowledgements per new mail; replies on their parent's
    ticket; no inbound row failed or left queued, no outbox row left undelivered."""
    from sqlalchemy import create_engine, text

    engine = create_engine(bench.url)
    with engine.connect() as conn:
        entries = conn.execute(
            text("SELECT id, ticket_id, message_id FROM entries WHERE direction = 'in'")
        ).all()
        inbound = dict(
            conn.execute(text("SELECT state, count(*) FROM inbound_messages GROUP BY state")).all()
        )
        outbox = dict(conn.execute(text("SELECT state, count(*) FROM outbox GROUP BY state")).all())
    engine.dispose()
    entry_count: Counter[str] = Counter()
    ticket_of: dict[str, int] = {}
    first: dict[int, tuple[int, str]] = {}  # ticket → (entry id, message id) of its first entry
    for entry_id, ticket_id, message_id in entries:
        entry_count[message_id] += 1
        ticket_of[message_id] = ticket_id
        if ticket_id not in first or entry_id < first[ticket_id][0]:
            first[ticket_id] = (entry_id, message_id)
    opened = Counter(message_id for _, message_id in first.values())
    new_ids = [mid for _, mid, is_new in mails if is_new]
    replies = [
        (mid, _header(raw.split(b"\r\n\r\n", 1)[0], b"in-reply-to"))
        for raw, mid, is_new in mails
        if not is_new
    ]
    with bench.sink.lock:
        answers = Counter(bench.sink.message_ids)
        acks = Counter(bench.sink.ack_counts)
    checks = [
        ("new mails without exactly one ticket", sum(opened[m] != 1 for m in new_ids)),
        ("mails without exactly one entry", sum(entry_count[m] != 1 for _, m, _ in mails)),
        ("replies that opened a ticket", sum(opened[m] for m, _ in replies)),
        (
            "replies not on their parent's ticket",
            sum(ticket_of.get(m) != ticket_of.get(parent) for m, parent in replies),
        ),
        ("answers received twice at the sink", sum(c - 1 for c in answers.values() if c > 1)),
        ("new mails without exactly one acknowledgement", sum(acks[m] != 1 for m in new_ids)),
        ("inbound rows failed or still queued", sum(n for s, n in inbound.items() if s != "done")),
        ("outbox rows not sent", sum(n for s, n in outbox.items() if s != "sent")),
    ]
    lines = [f"{'ok' if n == 0 else 'FAIL':4} {n:5d} {what}" for what, n in checks]
    lines.append(
        f"     {len(first)} tickets, {len(entries)} entries, {sum(answers.values())} answers, "
        f"inbound rows {sum(inbound.values())} for {len(mails)} mails"
    )
    return Checked(sum(n for _, n in checks), lines)


if __name__ == "__main__":
    main()
