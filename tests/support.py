"""Test helpers: building mails, a recording SMTP sink, a daemon in a subprocess, waiting."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def wait_for(
    probe: Callable[[], T],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def make_mail(
    *,
    sender: str = "Budi Santoso <budi@dinas.example>",
    to: str = "helpdesk@tiket.test",
    subject: str = "Wifi di kantor mati",
    body: str = "Selamat pagi, jaringan wifi di kantor kami mati sejak tadi pagi.\n",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="dinas.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=email.policy.SMTP)  # CRLF, as on the wire


def reply_to(original: bytes, *, sender: str, body: str, quote: bool = True) -> bytes:
    """A reply as a mail client writes it: to the Reply-To, threaded, quoting the original."""
    parsed = email.message_from_bytes(original, policy=email.policy.default)
    quoted = ""
    if quote:
        text = parsed.get_body(("plain",))
        content = text.get_content() if text is not None else ""  # type: ignore[union-attr]
        quoted = "\n\nOn Mon, 1 Jan 2026 at 10:00, Helpdesk wrote:\n" + "".join(
            f"> {line}\n" for line in content.splitlines()
        )
    return make_mail(
        sender=sender,
        to=str(parsed["Reply-To"] or parsed["From"]),
        subject="Re: " + str(parsed["Subject"]),
        body=body + quoted,
        in_reply_to=str(parsed["Message-ID"]),
    )


@dataclass
class Sink:
    """A local SMTP server that records every message: our smarthost in tests."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: str | None = None  # e.g. "451 4.3.0 try later"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse
        with self.lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            found = [raw for _, rcpts, raw in self.messages if address in rcpts]
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for raw in found
        ]


class SinkServer:
    def __init__(self, port: int) -> None:
        self.sink = Sink()
        self.port = port
        self.controller = Controller(
            self.sink, hostname="127.0.0.1", port=port, server_hostname="sink.test"
        )

    def __enter__(self) -> Sink:
        self.controller.start()
        return self.sink

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def send(
    port: int,
    raw: bytes,
    *,
    sender: str = "budi@dinas.example",
    rcpts: tuple[str, ...] = ("helpdesk@tiket.test",),
) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(sender, list(rcpts), raw)


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


class DaemonProcess:
    """`tiket serve` in a subprocess, with its own config and working directory."""

    def __init__(self, workdir: Path, config: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.config = config
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "daemon.log"

    def tiket(
        self, *args: str, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            [sys.executable, "-m", "tiket", "--config", str(self.config), *args],
            cwd=self.workdir,
            env=self.env,
            input=input,
            capture_output=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"tiket {' '.join(args)} exited {result.returncode}: {result.stderr.decode()}"
            )
        return result

    def start(self, port: int, extra_env: dict[str, str] | None = None) -> None:
        log = open(self.log, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tiket", "--config", str(self.config), "serve"],
            cwd=self.workdir,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=log,
        )
        log.close()

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited: {self.log.read_text()[-3000:]}")
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                    return client.noop()[0] == 250
            except OSError:
                return False

        wait_for(listening, timeout=30, what="the daemon's SMTP listener")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("daemon did not stop within 15 s of SIGTERM") from None


def queue_answers(db: Any, count: int, *, tag: str, channel: str = "email") -> list[int]:
    """Queue `count` acknowledgements in the outbox (Message-IDs <tag-N@tiket.test>); their ids."""
    from tiket.outbound import outbox

    with db.session() as session:
        rows = [
            outbox.enqueue(
                session,
                ticket_id=None,
                kind="ack",
                channel=channel,
                recipient=f"user{n}@dinas.example" if channel == "email" else f"+6281100{n}",
                subject="Tiket diterima",
                body="Terima kasih.",
                message_id=f"<{tag}-{n}@tiket.test>",
                payload=make_mail(message_id=f"<{tag}-{n}@tiket.test>", subject="Tiket diterima")
                if channel == "email"
                else None,
            )
            for n in range(count)
        ]
        session.flush()
        return [row.id for row in rows]
