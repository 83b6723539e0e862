"""Fault soak: a real daemon under continuous SMTP load, killed and starved; 0 lost, 0 duplicated?

    .venv/bin/python bench/soak.py [--kills 20] [--rate 30] [--quick] [--phases kills,disk]
    .venv/bin/python bench/soak.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

A few client threads send generated mails (bench/ingest.py's `make_mails`) to `tiket serve`
without pause; a message answered 4xx, or lost with its connection, is sent again later with
the same bytes, as a real MTA does. Meanwhile the phases, each bounded:

  kills      SIGKILL the daemon N times at random moments (0.5-5 s apart) and restart it
  dbdown     (PostgreSQL) the daemon reaches its database through a TCP relay in this script:
             cut it for 30 s (live connections closed, new ones refused), then restore it
  smarthost  stop the sink smarthost for 60 s, then start it again
  disk       (SQLite, as root) the data directory is a tmpfs: fill it up until ENOSPC, hold,
             delete the filler

Then the load stops, the queues drain, and the database and the sink are compared with what
the clients saw: every Message-ID answered 250 must be in exactly one ticket entry, and every
answer the outbox marked sent must have reached the sink exactly once. Exit status 1 if not.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import contextlib
import errno
import random
import re
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import Engine, create_engine, func, make_url, select  # noqa: E402

from bench.ingest import database_url, free_port, make_mails  # noqa: E402
from tests.support import DaemonProcess  # noqa: E402
from tiket.model import Entry, InboundMessage, OutboxMessage  # noqa: E402

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
RETRY_SECONDS = 1.0  # how long a client holds a refused message before sending it again
LEASE_SECONDS = 300  # tiket.outbound.outbox.SENDING_LEASE: a dead daemon's claims wait this long


def bare(message_id: str | None) -> str:
    return (message_id or "").strip().strip("<>")


# --------------------------------------------------------------------------- what clients saw


@dataclass
class Ledger:
    """Every SMTP outcome the clients saw, by phase, and when each message first got 250."""

    phase: str = "warmup"
    counts: dict[str, collections.Counter[str]] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)  # Message-ID → first 250
    times: list[float] = field(default_factory=list)  # every 250, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, outcome: str, message_id: str | None = None) -> None:
        now = time.monotonic()
        with self.lock:
            self.counts.setdefault(self.phase, collections.Counter())[outcome] += 1
            if outcome == "250" and message_id is not None:
                self.accepted.setdefault(bare(message_id), now)
                self.times.append(now)

    def first_250_after(self, moment: float) -> float | None:
        with self.lock:
            index = bisect.bisect_right(self.times, moment)
            return self.times[index] - moment if index < len(self.times) else None


class MailSource:
    """Generated mails, made in chunks on demand; `None` once the load is switched off."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.buffer: collections.deque[tuple[bytes, str]] = collections.deque()
        self.lock = threading.Lock()
        self.open = True
        self.taken = 0

    def next(self) -> tuple[bytes, str] | None:
        with self.lock:
            if not self.open:
                return None
            if not self.buffer:
                self.seed += 1
                self.buffer.extend((raw, mid) for raw, mid, _ in make_mails(300, seed=self.seed))
            self.taken += 1
            return self.buffer.popleft()


class Client(threading.Thread):
    """One sending MTA: a paced stream of new mails, and its own queue of refused ones."""

    def __init__(self, port: int, source: MailSource, ledger: Ledger, rate: float) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.source = source
        self.ledger = ledger
        self.interval = 1.0 / rate
        self.held: collections.deque[tuple[float, bytes, str]] = collections.deque()
        self.halt = threading.Event()
        self.smtp: smtplib.SMTP | None = None

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.halt.is_set():
            item = self._pick()
            if item is None:
                if not self.held and not self.source.open:
                    break
                time.sleep(0.05)
                continue
            raw, message_id = item
            if not self._send(raw, message_id):
                self.held.append((time.monotonic() + RETRY_SECONDS, raw, message_id))
            next_at = max(next_at + self.interval, time.monotonic() - 1.0)
            time.sleep(max(0.0, next_at - time.monotonic()))
        self._close()

    def _pick(self) -> tuple[bytes, str] | None:
        if self.held and self.held[0][0] <= time.monotonic():
            _, raw, message_id = self.held.popleft()
            return raw, message_id
        return self.source.next()

    def _send(self, raw: bytes, message_id: str) -> bool:
        try:
            if self.smtp is None:
                self.smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=20)
            self.smtp.sendmail("soak@bench.example", ["helpdesk@tiket.test"], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            self.ledger.note(f"{code // 100}xx")
            return False
        except smtplib.SMTPResponseException as exc:
            self.ledger.note(f"{exc.smtp_code // 100}xx")
            if exc.smtp_code in (421,) or exc.smtp_code >= 500:
                self._close()
            return False
        except OSError:  # refused, reset, timed out, disconnected (SMTPServerDisconnected)
            self.ledger.note("conn")
            self._close()
            time.sleep(0.2)
            return False
        self.ledger.note("250", message_id)
        return True

    def _close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
            self.smtp = None


# --------------------------------------------------------------------------- the smarthost


class CountingSink:
    """The smarthost: counts every Message-ID it was handed."""

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()
        self.phases: dict[str, list[str]] = {}  # Message-ID → the phase of each arrival
        self.phase: Callable[[], str] = lambda: "?"
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content
        match = _MESSAGE_ID.search(raw.split(b"\r\n\r\n", 1)[0])
        message_id = bare(match.group(1).decode()) if match else "(none)"
        with self.lock:
            self.seen[message_id] += 1
            self.phases.setdefault(message_id, []).append(self.phase())
        return "250 OK"

    def snapshot(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(self.seen)


class Smarthost:
    def __init__(self, sink: CountingSink) -> None:
        self.sink = sink
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.sink, hostname="127.0.0.1", port=self.port, server_hostname="sink"
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --------------------------------------------------------------------------- the database relay


class Relay:
    """A TCP relay to PostgreSQL that can be cut: live connections closed, new ones refused."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.2)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        with self.lock:
            doomed, self.sockets = self.sockets, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self.lock:
                self.sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self.lock:
                self.sockets -= {src, dst}


# --------------------------------------------------------------------------- the soak


@dataclass
class Soak:
    args: argparse.Namespace
    daemon: DaemonProcess
    smtp_port: int
    smarthost: Smarthost
    engine: Engine  # direct to the database, for counting
    var: Path
    relay: Relay | None
    ledger: Ledger = field(default_factory=Ledger)
    notes: dict[str, list[str]] = field(default_factory=dict)
    clients: list[Client] = field(default_factory=list)
    source: MailSource = field(init=False)

    def __post_init__(self) -> None:
        self.source = MailSource(self.args.seed)
        self.rng = random.Random(self.args.seed)

    def say(self, line: str) -> None:
        self.notes.setdefault(self.ledger.phase, []).append(line)
        print(f"  [{self.ledger.phase}] {line}", flush=True)

    def scalar(self, query: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def start_load(self) -> None:
        per_client = self.args.rate / self.args.clients
        self.clients = [
            Client(self.smtp_port, self.source, self.ledger, per_client)
            for _ in range(self.args.clients)
        ]
        for client in self.clients:
            client.start()

    def stop_load(self, timeout: float) -> int:
        """No new mails; the clients keep retrying what they hold. Returns what is still held."""
        self.source.open = False
        deadline = time.monotonic() + timeout
        for client in self.clients:
            client.join(max(0.1, deadline - time.monotonic()))
        for client in self.clients:
            client.halt.set()
            client.join(5)
        return sum(len(client.held) for client in self.clients)

    # -- phases

    def kills(self) -> None:
        recoveries, restarts = [], []
        held: set[tuple[int, int]] = set()  # (outbox id, attempts) a killed daemon had claimed
        last: set[tuple[int, int]] = set()  # those of the last kill
        waiting: set[tuple[int, int]] = set()  # still claimed when the next kill came
        for _ in range(self.args.kills):
            time.sleep(self.rng.uniform(0.5, 5.0))
            # The restarted daemon has run a few seconds: claims of the dead one it has not put
            # back (no journal line for them) are left to the lease.
            waiting |= last & self.sending()
            killed = time.monotonic()
            self.daemon.kill()
            last = self.sending()
            held |= last
            started = time.monotonic()
            self.daemon.start(self.smtp_port)
            restarts.append(time.monotonic() - started)
            recoveries.append(self.until_250_after(killed, 30))
        self.say(
            f"{len(recoveries)} SIGKILLs; restart {statistics.median(restarts):.1f} s median; "
            f"kill → next 250: median {statistics.median(recoveries):.1f} s, "
            f"max {max(recoveries):.1f} s"
        )
        stuck = len(held & self.sending())
        self.say(
            f"answers claimed by a killed daemon: {len(held)}; left to the {LEASE_SECONDS} s "
            f"lease (still claimed at the next kill): {len(waiting)}; still claimed at the end "
            f"of the phase: {stuck}"
        )

    def dbdown(self) -> None:
        assert self.relay is not None
        before = self.ledger.counts.get("dbdown", collections.Counter()).copy()
        last_inbound = self.scalar(select(func.max(InboundMessage.id)))
        self.relay.cut()
        cut_at = time.monotonic()
        time.sleep(self.args.db_down_seconds)
        during = self.ledger.counts.get("dbdown", collections.Counter()) - before
        self.relay.open()
        restored = time.monotonic()
        self.say(
            f"database cut for {restored - cut_at:.0f} s: clients saw {during['4xx']} × 4xx, "
            f"{during['250']} × 250, {during['conn']} connection errors"
        )
        self.say(f"restore → next 250: {self.until_250_after(restored, 120):.1f} s")
        # Everything that arrived before the cut is processed without anyone's help.
        done = self.wait(
            lambda: self.queued_inbound(up_to=last_inbound) == 0, 180, "processing to resume"
        )
        self.say(f"restore → backlog from before the cut processed: {done - restored:.1f} s")

    def smarthost_down(self) -> None:
        self.smarthost.stop()
        stopped = time.monotonic()
        time.sleep(self.args.smarthost_down_seconds)
        waiting = self.unsent_outbox()
        self.smarthost.start()
        back = time.monotonic()
        self.say(
            f"smarthost down {back - stopped:.0f} s; {len(waiting)} answers waiting when it "
            f"came back ({self.phase_count('smarthost', '250')} mails answered 250 meanwhile)"
        )
        if waiting:
            done = self.wait(lambda: not self.unsent(waiting), 180, "the retried answers")
            self.say(f"smarthost back → all {len(waiting)} delivered: {done - back:.1f} s")

    def disk(self) -> None:
        filler = self.var / "filler"
        log_start = self.daemon.log.stat().st_size
        before = self.ledger.counts.get("disk", collections.Counter()).copy()
        filled = fill(filler)
        full_at = time.monotonic()
        self.say(f"data directory filled ({filled / 2**20:.0f} MiB filler, ENOSPC)")
        first = self.wait(lambda: self.phase_count("disk", "4xx") > before["4xx"], 60, "a 4xx")
        self.say(f"full → first 4xx: {first - full_at:.1f} s")
        time.sleep(self.args.disk_full_seconds)
        during = self.ledger.counts.get("disk", collections.Counter()) - before
        filler.unlink()
        freed = time.monotonic()
        self.say(
            f"while full ({freed - full_at:.0f} s): {during['4xx']} × 4xx, {during['250']} × 250, "
            f"{during['conn']} connection errors"
        )
        self.say(f"filler deleted → next 250: {self.until_250_after(freed, 60):.1f} s")
        with open(self.daemon.log, "rb") as log:
            log.seek(log_start)
            lines = [line.decode(errors="replace").strip() for line in log]
        telling = [line for line in lines if re.search(r"disk|space|full", line, re.I)]
        self.say(f"log lines naming the disk: {len(telling)} of {len(lines)} new lines; first:")
        self.say("    " + (telling[0][:200] if telling else "(none)"))
        if self.daemon.proc is None or self.daemon.proc.poll() is not None:
            self.say("the daemon DIED while the disk was full; restarting it")
            self.daemon.start(self.smtp_port)

    # -- helpers

    def phase_count(self, phase: str, outcome: str) -> int:
        with self.ledger.lock:
            return self.ledger.counts.get(phase, collections.Counter())[outcome]

    def until_250_after(self, moment: float, timeout: float) -> float:
        found = self.wait(lambda: self.ledger.first_250_after(moment) is not None, timeout, "a 250")
        return self.ledger.first_250_after(moment) or found - moment

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> float:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.say(f"TIMED OUT after {timeout:.0f} s waiting for {what}")
                return time.monotonic()
            time.sleep(0.1)
        return time.monotonic()

    def sending(self) -> set[tuple[int, int]]:
        """The claims standing now: the same pair later means no one has touched the row since."""
        with self.engine.connect() as conn:
            return {
                (row_id, attempts)
                for row_id, attempts in conn.execute(
                    select(OutboxMessage.id, OutboxMessage.attempts).where(
                        OutboxMessage.state == "sending"
                    )
                )
            }

    def queued_inbound(self, up_to: int | None = None) -> int:
        query = select(func.count()).where(InboundMessage.state == "queued")
        if up_to is not None:
            query = query.where(InboundMessage.id <= up_to)
        return self.scalar(query)

    def unsent_outbox(self) -> set[int]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(OutboxMessage.id).where(OutboxMessage.state.in_(("queued", "sending")))
                ).scalars()
            )

    def unsent(self, ids: set[int]) -> set[int]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(OutboxMessage.id).where(
                        OutboxMessage.id.in_(ids), OutboxMessage.state != "sent"
                    )
                ).scalars()
            )

    def drained(self) -> bool:
        pending = self.scalar(
            select(func.count()).where(OutboxMessage.state.in_(("queued", "sending")))
        )
        sent = self.scalar(select(func.count()).where(OutboxMessage.state == "sent"))
        return (
            self.queued_inbound() == 0
            and pending == 0
            and sum(self.smarthost.sink.snapshot().values()) >= sent
        )


def fill(path: Path) -> int:
    """Write zeros to `path` until the file system says ENOSPC; returns the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            while True:
                try:
                    written += out.write(block) or 0
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written


# --------------------------------------------------------------------------- the verdict


def verdict(soak: Soak) -> bool:
    with soak.engine.connect() as conn:
        entries = collections.Counter(
            bare(mid)
            for mid in conn.execute(
                select(Entry.message_id).where(
                    Entry.direction == "in", Entry.inbound_id.is_not(None)
                )
            ).scalars()
        )
        inbound_states = collections.Counter(conn.execute(select(InboundMessage.state)).scalars())
        outbox = list(conn.execute(select(OutboxMessage.message_id, OutboxMessage.state)))
    accepted = set(soak.ledger.accepted)
    lost = sorted(mid for mid in accepted if entries[mid] == 0)
    doubled = sorted(mid for mid in accepted if entries[mid] > 1)
    sink = soak.smarthost.sink.snapshot()
    states = collections.Counter(state for _, state in outbox)
    sent = {bare(mid) for mid, state in outbox if state == "sent"}
    answers_doubled = {mid: n for mid, n in sink.items() if n > 1}
    answers_missing = sent - set(sink)
    strangers = set(sink) - {bare(mid) for mid, _ in outbox}

    print("\nphase        attempts     250     4xx     5xx  conn err")
    for phase, counts in soak.ledger.counts.items():
        print(
            f"{phase:10} {sum(counts.values()):10} {counts['250']:7} {counts['4xx']:7} "
            f"{counts['5xx']:7} {counts['conn']:9}"
        )
    print(f"\nmessages offered          {soak.source.taken}")
    print(f"messages answered 250     {len(accepted)} (distinct Message-IDs)")
    print(f"inbound rows by state     {dict(inbound_states)}")
    print(f"LOST (250, no entry)      {len(lost)}  {lost[:5] if lost else ''}")
    print(f"DUPLICATED entries        {len(doubled)}  {doubled[:5] if doubled else ''}")
    print(f"answers in the outbox     {dict(states)}")
    print(f"answers at the sink       {sum(sink.values())} ({len(sink)} distinct)")
    print(
        f"DUPLICATED answers        {len(answers_doubled)}  "
        f"{list(answers_doubled.items())[:5] if answers_doubled else ''}"
    )
    for mid in list(answers_doubled)[:5]:
        print(f"  {mid} reached the sink in phases {soak.smarthost.sink.phases.get(mid)}")
    print(f"answers marked sent, never at the sink  {len(answers_missing)}")
    print(f"mails at the sink the outbox never had  {len(strangers)}")
    unfinished = states["queued"] + states["sending"] + states["failed"]
    return not (lost or doubled or answers_doubled or answers_missing or strangers or unfinished)


# --------------------------------------------------------------------------- setting up


def write_config(workdir: Path, var: Path, url: str, smtp_port: int, sink_port: int) -> Path:
    config = workdir / "tiket.toml"
    config.write_text(
        f'[paths]\nvar = "{var}"\n[database]\nurl = "{url}"\n'
        f'[mail]\naddress = "helpdesk@tiket.test"\n[smtp]\nlisten = "127.0.0.1:{smtp_port}"\n'
        f'[outbound]\nsmarthost = "127.0.0.1:{sink_port}"\n'
        # Retries every few seconds, never giving up within the soak: a smarthost outage of a
        # minute must end in delivery, and the soak must not last hours.
        "retry_base_seconds = 2.0\nretry_max_seconds = 10.0\nmax_attempts = 1000\n"
        "timeout_seconds = 10.0\n"
        f'[http]\nlisten = "127.0.0.1:{free_port()}"\n'
        "[limits]\nper_recipient_window = 1000000\nper_recipient_day = 1000000\n"
        'per_ticket_day = 1000000\n[log]\nlevel = "warning"\n'
    )
    return config


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[bool]:
    """Mount a tmpfs of `size` on `path` for the block; yields False when mounting is impossible."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"cannot mount a tmpfs on {path}: {done.stderr.strip() or done.returncode}")
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL admin URL: soak there, not on SQLite")
    parser.add_argument("--phases", help="comma-separated; default by database (see above)")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--rate", type=float, default=30.0, help="offered msg/s, all clients")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--db-down-seconds", type=float, default=30.0)
    parser.add_argument("--smarthost-down-seconds", type=float, default=60.0)
    parser.add_argument("--disk-full-seconds", type=float, default=15.0)
    parser.add_argument("--quick", action="store_true", help="5 kills, outages of 10-15 s")
    parser.add_argument("--seed", type=int, default=20260)
    args = parser.parse_args()
    if args.quick:
        args.kills = min(args.kills, 5)
        args.db_down_seconds = min(args.db_down_seconds, 10.0)
        args.smarthost_down_seconds = min(args.smarthost_down_seconds, 15.0)
        args.disk_full_seconds = min(args.disk_full_seconds, 5.0)
    default = "kills,dbdown" if args.postgres else "kills,smarthost,disk"
    phases = (args.phases or default).split(",")
    if args.postgres and "disk" in phases:
        parser.error("the disk phase fills the SQLite data directory: run it without --postgres")
    if not args.postgres and "dbdown" in phases:
        parser.error("the dbdown phase cuts a PostgreSQL connection: give --postgres URL")

    with tempfile.TemporaryDirectory(prefix="tiket-soak-") as tmp:
        workdir = Path(tmp)
        var = workdir / "var"
        with tmpfs(var, "2g") if "disk" in phases else contextlib.nullcontext(True) as mounted:
            if not mounted:
                print("disk phase skipped: the data directory cannot be made a small file system")
                phases.remove("disk")
            return run(args, phases, workdir, var)


def run(args: argparse.Namespace, phases: list[str], workdir: Path, var: Path) -> int:
    direct, drop = database_url(args, var)
    relay = None
    daemon_url = direct
    if args.postgres:
        parsed = make_url(direct)
        relay = Relay(parsed.host or "127.0.0.1", parsed.port or 5432)
        relay.open()
        daemon_url = parsed.set(host="127.0.0.1", port=relay.port).render_as_string(
            hide_password=False
        )
    smarthost = Smarthost(CountingSink())
    smarthost.start()
    smtp_port = free_port()
    config = write_config(workdir, var, daemon_url, smtp_port, smarthost.port)
    daemon = DaemonProcess(workdir, config)
    daemon.tiket("init")
    daemon.tiket("teams", "edit", "support", "--mailbox", "support-team@tiket-soak.example")
    engine = create_engine(direct)
    soak = Soak(args, daemon, smtp_port, smarthost, engine, var, relay)
    smarthost.sink.phase = lambda: soak.ledger.phase
    print(
        f"soak on {make_url(direct).get_backend_name()}: phases {', '.join(phases)}; "
        f"{args.rate:.0f} msg/s offered by {args.clients} clients",
        flush=True,
    )
    started = time.monotonic()
    ok = False
    try:
        daemon.start(smtp_port)
        soak.start_load()
        time.sleep(3)
        for phase in phases:
            soak.ledger.phase = phase
            getattr(soak, {"smarthost": "smarthost_down"}.get(phase, phase))()
            soak.ledger.phase = "between"
            time.sleep(3)
        soak.ledger.phase = "cooldown"
        held = soak.stop_load(90)
        if held:
            soak.say(f"{held} messages still refused after 90 s (the senders keep them)")
        stopped = time.monotonic()
        soak.ledger.phase = "drain"
        done = soak.wait(soak.drained, LEASE_SECONDS + 120, "the queues to drain")
        soak.say(f"load stopped → queues drained: {done - stopped:.0f} s")
        daemon.stop()
        ok = verdict(soak)
        print(f"\nwhole soak: {time.monotonic() - started:.0f} s; {'PASS' if ok else 'FAIL'}")
    finally:
        for client in soak.clients:
            client.halt.set()
        with contextlib.suppress(AssertionError):
            daemon.stop()
        smarthost.stop()
        engine.dispose()
        if relay is not None:
            relay.cut()
        if drop:
            drop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
