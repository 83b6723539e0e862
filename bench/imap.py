"""IMAP intake bench: the drain rate of a running `tiket serve`, and delivery → ticket latency.

Starts a private Dovecot (the tests' fixture), stages N mails in a side folder (70 % new
problems, 30 % replies to them, 20 % with a 50 KB PDF, Indonesian and English), starts the
daemon on that mailbox, then moves the whole batch into INBOX at once and measures until every
ticket and every answer exists. Then it delivers single mails over LMTP, one after another,
and measures from the end of each delivery to its ticket.

    .venv/bin/python bench/imap.py --mails 1000 --singles 100 [--postgres] [--intake-only]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Select, create_engine, func, make_url, select, text

from tests.integration.dovecot import Dovecot
from tiket.model import InboundMessage, InboundState, MailboxState, OutboxMessage, Ticket

STAGING = "bench-staging"
ADMIN_URL = os.environ.get(
    "TIKET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

PROBLEMS_ID = [
    ("Wifi di ruang rapat mati", "Jaringan wifi di ruang rapat lantai 2 mati sejak pagi."),
    ("Email dinas tidak bisa kirim", "Email dinas saya tidak bisa mengirim lampiran besar."),
    ("Website dinas tidak bisa diakses", "Situs web dinas menampilkan error 502 sejak tadi."),
    ("CCTV parkiran mati", "Kamera CCTV di area parkir tidak merekam sejak kemarin."),
    ("Aplikasi SIMPEG error", "Aplikasi kepegawaian menampilkan pesan error saat login."),
]
PROBLEMS_EN = [
    ("Wi-Fi down in the meeting room", "The Wi-Fi in the second floor meeting room is down."),
    ("Cannot send official email", "My official mailbox refuses to send large attachments."),
    ("Agency website unreachable", "The agency website shows a 502 error since this morning."),
    ("Parking CCTV offline", "The parking lot camera has not recorded since yesterday."),
    ("HR application error", "The HR application shows an error at login."),
]
REPLIES_ID = ["Terima kasih, masalahnya masih ada.", "Sudah saya coba restart, tetap sama."]
REPLIES_EN = ["Thanks, the problem is still there.", "I restarted it, nothing changed."]


def pdf(size: int = 50_000) -> bytes:
    """A small valid PDF padded with a comment stream to `size` bytes."""
    head = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    )
    tail = b"trailer<</Root 1 0 R>>\n%%EOF\n"
    filler = (
        b"% " + secrets.token_hex(size // 2)[: max(0, size - len(head) - len(tail) - 3)].encode()
    )
    return head + filler + b"\n" + tail


@dataclass(frozen=True)
class Mix:
    messages: list[bytes]
    new: int
    replies: int
    with_pdf: int


def mix(count: int, seed: int = 7) -> Mix:
    """70 % new problem reports, 30 % replies to earlier ones; 20 % carry a 50 KB PDF."""
    rng = random.Random(seed)
    attachment = pdf()
    sent: list[tuple[str, str, str, bool]] = []  # (sender, subject, message-id, indonesian)
    messages, new, replies, with_pdf = [], 0, 0, 0
    for i in range(count):
        reply = bool(sent) and rng.random() < 0.3
        msg = EmailMessage()
        if reply:
            sender, subject, parent, indonesian = rng.choice(sent)
            msg["Subject"] = f"Re: {subject}"
            msg["In-Reply-To"] = parent
            msg["References"] = parent
            body = rng.choice(REPLIES_ID if indonesian else REPLIES_EN)
            replies += 1
        else:
            indonesian = rng.random() < 0.6
            title, body = rng.choice(PROBLEMS_ID if indonesian else PROBLEMS_EN)
            sender = f"pegawai{i}@dinas{i % 7}.example"
            subject = f"{title} (#{i})"
            msg["Subject"] = subject
            new += 1
        msg["From"] = f"Pegawai {i} <{sender}>"
        msg["To"] = "helpdesk@tiket.test"
        msg["Message-ID"] = message_id = make_msgid(domain="dinas.example")
        msg["Date"] = "Sat, 28 Nov 2026 08:00:00 +0800"
        msg.set_content(f"{body}\n\n{'Salam' if indonesian else 'Regards'},\nPegawai {i}\n")
        if rng.random() < 0.2:
            msg.add_attachment(
                attachment, maintype="application", subtype="pdf", filename="laporan.pdf"
            )
            with_pdf += 1
        if not reply:
            sent.append((sender, subject, message_id, indonesian))
        messages.append(msg.as_bytes())
    return Mix(messages, new, replies, with_pdf)


# -- the database and the daemon ----------------------------------------------------------------


@contextlib.contextmanager
def database(work: Path, postgres: bool) -> Iterator[str]:
    if not postgres:
        yield f"sqlite:///{work / 'var' / 'tiket.db'}"
        return
    admin = create_engine(make_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"tiket_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def write_config(work: Path, url: str, server: Dovecot, *, process: bool) -> Path:
    config = work / "tiket.toml"
    config.write_text(
        f"""
[paths]
var = "{work / "var"}"
[database]
url = "{url}"
[mail]
address = "helpdesk@tiket.test"
secret = "bench"
[smtp]
listen = ""
[http]
listen = ""
[scheduler]
enabled = false
[worker]
process = {"true" if process else "false"}
deliver = {"true" if process else "false"}

[[imap]]
name = "helpdesk"
host = "127.0.0.1"
port = {server.imap_port}
tls = "none"
user = "{server.user}"
password = "{server.users[server.user]}"
"""
    )
    return config


def tiket(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tiket", "--config", str(config), *args]


def wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.01)


class Reader:
    """Plain read transactions: tiket's own sessions BEGIN IMMEDIATE on SQLite, and polling
    with them would queue behind the daemon's writers and measure that queue, not the daemon."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def count(self, query: Select[Any]) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def progress(self) -> tuple[int, int, int, int]:
        """(inbound rows, rows not yet processed, tickets, outbox rows)"""
        rows = select(func.count(InboundMessage.id))
        return (
            self.count(rows),
            self.count(rows.where(InboundMessage.state == InboundState.QUEUED)),
            self.count(select(func.count(Ticket.id))),
            self.count(select(func.count(OutboxMessage.id))),
        )

    def rows(self) -> int:
        return self.count(select(func.count(InboundMessage.id)))

    def processed(self) -> int:
        return self.count(
            select(func.count(InboundMessage.id)).where(InboundMessage.state != InboundState.QUEUED)
        )

    def connected(self) -> bool:
        query = select(func.count()).where(
            MailboxState.name == "helpdesk", MailboxState.connected.is_(True)
        )
        return self.count(query) == 1


# -- the two measurements ---------------------------------------------------------------------


def drain(server: Dovecot, db: Reader, batch: Mix, *, intake_only: bool) -> dict[str, float]:
    with server.client() as client:
        started = time.monotonic()
        client.select_folder(STAGING)
        uids = client.search()
        client.move(uids, "INBOX")  # the whole batch appears at once
    moved = time.monotonic()
    taken_at = done_at = 0.0
    expected_rows = len(batch.messages)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        rows, queued, tickets, outbox = db.progress()
        now = time.monotonic()
        if rows >= expected_rows and not taken_at:
            taken_at = now
        if rows >= expected_rows and (intake_only or (not queued and tickets >= batch.new)):
            done_at = now
            break
        time.sleep(0.02)
    if not done_at:
        raise SystemExit(f"bench: the drain did not finish: {db.progress()}")
    rows, queued, tickets, outbox = db.progress()
    return {
        "mails": expected_rows,
        "move_seconds": moved - started,
        "intake_seconds": taken_at - started,
        "drain_seconds": done_at - started,
        "intake_rate": expected_rows / (taken_at - started),
        "drain_rate": expected_rows / (done_at - started),
        "tickets": tickets,
        "outbox": outbox,
    }


def latency(server: Dovecot, db: Reader, singles: int, *, intake_only: bool) -> list[float]:
    """From the end of each LMTP delivery to its ticket (intake only: to its inbound row)."""
    reached = db.rows if intake_only else db.processed
    samples = []
    for raw in mix(singles, seed=11).messages:
        wanted = reached() + 1
        server.deliver([raw])
        delivered = time.monotonic()
        wait(functools.partial(_at_least, reached, wanted), 30, "a single mail")
        samples.append(time.monotonic() - delivered)
    return samples


def _at_least(count: Callable[[], int], wanted: int) -> bool:
    return count() >= wanted


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    parser.add_argument(
        "--intake-only",
        action="store_true",
        help="the daemon only takes mail in (no processing): IMAP → committed rows",
    )
    args = parser.parse_args()
    only = args.intake_only
    if shutil.which("dovecot") is None:
        print("bench: Dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
        return 2
    batch = mix(args.mails)
    size = sum(len(m) for m in batch.messages)
    print(
        f"mix: {len(batch.messages)} mails ({batch.new} new, {batch.replies} replies, "
        f"{batch.with_pdf} with a 50 KB PDF), {size / 1e6:.1f} MB"
    )
    work = Path(tempfile.mkdtemp(prefix="tiket-bench-"))
    daemon: subprocess.Popen[bytes] | None = None
    with Dovecot() as server, database(work, args.postgres) as url:
        config = write_config(work, url, server, process=not only)
        subprocess.run(tiket(config, "init"), check=True, capture_output=True)
        with server.client() as client:
            client.create_folder(STAGING)
            for raw in batch.messages:
                client.append(STAGING, raw)
        db = Reader(url)
        log = open(work / "daemon.log", "wb")  # noqa: SIM115 - the daemon writes it until the end
        try:
            daemon = subprocess.Popen(tiket(config, "serve"), stdout=log, stderr=log)
            wait(db.connected, 60, "the daemon to log in to the mailbox")
            result = drain(server, db, batch, intake_only=only)
            samples = latency(server, db, args.singles, intake_only=only) if args.singles else []
        finally:
            if daemon is not None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(30)
            log.close()
            db.engine.dispose()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"database: {backend}; daemon log: {work / 'daemon.log'}")
    if not only:
        print(
            f"drain: {result['mails']:.0f} mails in {result['drain_seconds']:.2f} s = "
            f"{result['drain_rate']:.0f} msg/s until every ticket and answer exists "
            f"({result['tickets']:.0f} tickets, {result['outbox']:.0f} outbox messages)"
        )
    print(
        f"intake (IMAP → committed inbound rows){' with processing running' * (not only)}: "
        f"{result['intake_seconds']:.2f} s = {result['intake_rate']:.0f} msg/s"
    )
    if samples:
        print(
            f"delivery → {'inbound row' if only else 'ticket'}, {len(samples)} single mails: "
            f"p50 {percentile(samples, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(samples, 0.99) * 1000:.0f} ms, "
            f"max {max(samples) * 1000:.0f} ms, mean {statistics.mean(samples) * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
