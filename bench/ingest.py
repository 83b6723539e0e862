"""Ingest benchmark: a real daemon, real SMTP clients, a sink smarthost; prints the figures.

    .venv/bin/python bench/ingest.py [--mails 2000] [--clients 4] [--postgres URL]

Phases: (1) the accept rate of a no-op aiosmtpd handler on this machine; (2) N generated mails
(70 % new, 30 % replies to earlier ones, 20 % with a 50 KB PDF, Indonesian and English) sent by C
clients to `tiket serve`: accepted msg/s, and processed msg/s until every answer reached the
sink; (3) 100 msg/s offered for a few seconds: latency from 250 to the acknowledgement at the
sink, p50/p99; (4) one mail with a 25 MB attachment: peak RSS before and after. Everything
binds 127.0.0.1 and stops by itself.
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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content
        now = time.monotonic()
        head = raw.split(b"\r\n\r\n", 1)[0]
        with self.lock:
            self.count += 1
            if b"X-Tiket-Ticket" in head and b"\r\nTo: support-team" not in head:
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"in-reply-to:"):
                        self.acks.setdefault(line.split(b":", 1)[1].strip().decode(), now)
        return "250 OK"


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
    port: int,
    mails: list[tuple[bytes, str, bool]],
    clients: int,
    accepted: dict[str, float] | None = None,
) -> float:
    """Send with `clients` connections; returns the seconds until the last 250."""
    chunks = [mails[i::clients] for i in range(clients)]
    errors: list[BaseException] = []

    def worker(chunk: list[tuple[bytes, str, bool]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                for raw, message_id, _ in chunk:
                    client.sendmail("bench@bench.example", ["helpdesk@tiket.test"], raw)
                    if accepted is not None:
                        accepted[message_id] = time.monotonic()
        except BaseException as exc:
            errors.append(exc)

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
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
    args = parser.parse_args()

    noop_port = free_port()
    noop = Controller(NoOp(), hostname="127.0.0.1", port=noop_port, server_hostname="noop")
    noop.start()
    sample = make_mails(min(args.mails, 1000), seed=1)
    noop_rate = len(sample) / send_all(noop_port, sample, args.clients)
    noop.stop()

    sink = Sink()
    sink_port, smtp_port, http_port = free_port(), free_port(), free_port()
    sink_server = Controller(sink, hostname="127.0.0.1", port=sink_port, server_hostname="sink")
    sink_server.start()
    with tempfile.TemporaryDirectory(prefix="tiket-bench-") as tmp:
        workdir = Path(tmp)
        url, drop = database_url(args, workdir)
        config = workdir / "tiket.toml"
        config.write_text(
            f'[paths]\nvar = "{workdir / "var"}"\n[database]\nurl = "{url}"\n'
            f'[mail]\naddress = "helpdesk@tiket.test"\n[smtp]\nlisten = "127.0.0.1:{smtp_port}"\n'
            "max_message_bytes = 67108864\n"
            f'[outbound]\nsmarthost = "127.0.0.1:{sink_port}"\n'
            f'[http]\nlisten = "127.0.0.1:{http_port}"\n'
            "[limits]\nper_recipient_window = 100000\nper_recipient_day = 100000\n"
            'per_ticket_day = 100000\n[log]\nlevel = "warning"\n'
        )
        tiket = [sys.executable, "-m", "tiket", "--config", str(config)]
        subprocess.run([*tiket, "init"], check=True, capture_output=True, cwd=workdir)
        subprocess.run(
            [*tiket, "teams", "edit", "support", "--mailbox", "support-team@tiket-bench.example"],
            check=True,
            capture_output=True,
            cwd=workdir,
        )
        log = open(workdir / "daemon.log", "wb")  # noqa: SIM115
        daemon = subprocess.Popen([*tiket, "serve"], cwd=workdir, stdout=log, stderr=log)
        try:
            wait(lambda: _listening(smtp_port), 60, "the daemon")
            run_phases(args, sink, smtp_port, daemon.pid, noop_rate, url)
        finally:
            daemon.terminate()
            daemon.wait(20)
            log.close()
            sink_server.stop()
            if drop:
                drop()


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

    # Latency at a steady offered rate: from our 250 to the acknowledgement at the sink.
    latency_mails = [m for m in make_mails(int(args.rate * args.seconds), seed=99) if m[2]]
    accepted: dict[str, float] = {}
    interval = 1.0 / args.rate
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        next_at = time.monotonic()
        for raw, message_id, _ in latency_mails:
            time.sleep(max(0.0, next_at - time.monotonic()))
            client.sendmail("bench@bench.example", ["helpdesk@tiket.test"], raw)
            accepted[message_id] = time.monotonic()
            next_at += interval
    wait(lambda: all(m in sink.acks for m in accepted), 120, "every acknowledgement")
    latencies = sorted((sink.acks[m] - t) * 1000 for m, t in accepted.items())
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"latency @{args.rate:.0f}/s     p50 {statistics.median(latencies):6.1f} ms   "
        f"p99 {p99:6.1f} ms   ({len(latencies)} acknowledgements)"
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


if __name__ == "__main__":
    main()
