"""The SMTP and LMTP listeners in a real conversation on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from aiosmtpd.smtp import Envelope, Session

from tests.conftest import free_port
from tests.integration.desk_harness import Harness
from tests.support import make_mail, send, wait_for
from tiket.config import Settings
from tiket.gateway.daemon import Daemon
from tiket.inbound.smtp import Handler
from tiket.inbound.store import GroupCommit, InboundStore
from tiket.model.db import Database


class Running:
    """A daemon serving in a thread of this process (listeners only unless asked)."""

    def __init__(self, settings: Settings) -> None:
        self.daemon = Daemon(settings)
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.error: BaseException | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.daemon.run(self.stop_event))
        except BaseException as exc:  # surfaced to the test in stop()
            self.error = exc
        finally:
            self.loop.close()

    def start(self, port: int) -> None:
        self.thread.start()

        def up() -> bool:
            if self.error:
                raise self.error
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(up, what="listener")

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(15)
        assert not self.thread.is_alive(), "daemon did not stop"
        if self.error:
            raise self.error


@pytest.fixture
def smtp_port(settings: Settings, db: Database) -> Iterator[tuple[int, int, Settings]]:
    port, lmtp_port = free_port(), free_port()
    live = replace(
        settings,
        smtp=replace(
            settings.smtp,
            listen=f"127.0.0.1:{port}",
            lmtp_listen=f"127.0.0.1:{lmtp_port}",
            max_message_bytes=200_000,
        ),
        worker=replace(settings.worker, process=False, deliver=False),
        http=replace(settings.http, listen=f"127.0.0.1:{free_port()}"),
    )
    running = Running(live)
    running.start(port)
    yield port, lmtp_port, live
    running.stop()


def test_relay_attempt_is_refused(smtp_port: tuple[int, int, Settings]) -> None:
    port, _, _ = smtp_port
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        client.mail("spammer@example.net")
        code, text = client.rcpt("victim@gmail.example")
    assert code == 550
    assert b"Relaying denied" in text


def test_message_is_committed_before_250(
    smtp_port: tuple[int, int, Settings], db: Database, settings: Settings
) -> None:
    port, _, _ = smtp_port
    refused = send(port, make_mail(), rcpts=("helpdesk@tiket.test", "other@elsewhere.example"))
    assert "other@elsewhere.example" in refused  # refused recipient, message accepted for ours
    # Processing is off: the row exists the moment the client has its 250.
    (row,) = Harness(db, settings).inbound()
    assert row.state == "queued"
    assert row.envelope_to == ["helpdesk@tiket.test"]
    assert row.raw and b"Wifi di kantor mati" in row.raw


def test_oversize_message_is_refused_with_552(
    smtp_port: tuple[int, int, Settings], db: Database, settings: Settings
) -> None:
    port, _, _ = smtp_port
    big = make_mail(body="x" * 300_000)
    with pytest.raises(smtplib.SMTPException) as caught:
        send(port, big)
    assert "552" in str(caught.value)
    assert Harness(db, settings).inbound() == []


def test_leading_dots_are_unstuffed_and_the_mail_stored_byte_exact(
    smtp_port: tuple[int, int, Settings], db: Database, settings: Settings
) -> None:
    port, _, _ = smtp_port
    raw = make_mail(body="baris biasa\n.\n..dua titik\n.satu titik\n.\r\n").replace(b"\n", b"\r\n")
    raw = raw.replace(b"\r\r\n", b"\r\n")
    send(port, raw)  # smtplib doubles each leading dot on the wire
    (row,) = Harness(db, settings).inbound()
    assert row.raw == raw


def test_the_session_goes_on_after_a_refused_message(
    smtp_port: tuple[int, int, Settings], db: Database, settings: Settings
) -> None:
    port, _, _ = smtp_port
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail("budi@dinas.example")  # no SIZE: the limit is met during DATA
        client.rcpt("helpdesk@tiket.test")
        code, _ = client.data(make_mail(body="x" * 300_000))
        assert code == 552
        client.sendmail("budi@dinas.example", ["helpdesk@tiket.test"], make_mail())
    assert len(Harness(db, settings).inbound()) == 1


def test_duplicate_delivery_is_stored_once(
    smtp_port: tuple[int, int, Settings], db: Database, settings: Settings
) -> None:
    port, _, _ = smtp_port
    raw = make_mail()
    send(port, raw)
    send(port, raw)
    assert len(Harness(db, settings).inbound()) == 1


def test_long_lines_and_8bit_are_accepted(
    smtp_port: tuple[int, int, Settings], db: Database, settings: Settings
) -> None:
    port, _, _ = smtp_port
    raw = make_mail(body="panjang " * 400 + "\nÜbung café\n")
    send(port, raw)
    assert len(Harness(db, settings).inbound()) == 1


def test_lmtp_answers_once_per_recipient(
    smtp_port: tuple[int, int, Settings], db: Database, settings: Settings
) -> None:
    _, lmtp_port, _ = smtp_port
    with socket.create_connection(("127.0.0.1", lmtp_port), timeout=10) as sock:
        stream = sock.makefile("rwb")

        def command(line: bytes) -> bytes:
            stream.write(line + b"\r\n")
            stream.flush()
            return _read_reply(stream)

        _read_reply(stream)  # greeting
        assert command(b"LHLO test").startswith(b"250")
        assert command(b"MAIL FROM:<budi@dinas.example>").startswith(b"250")
        assert command(b"RCPT TO:<helpdesk@tiket.test>").startswith(b"250")
        assert command(b"RCPT TO:<network@tiket.test>").startswith(b"250")
        assert command(b"DATA").startswith(b"354")
        stream.write(make_mail().replace(b"\n", b"\r\n") + b"\r\n.\r\n")
        stream.flush()
        first, second = _read_reply(stream), _read_reply(stream)
        assert first.startswith(b"250") and second.startswith(b"250")
    assert len(Harness(db, settings).inbound()) == 1


def _read_reply(stream: socket.SocketIO | object) -> bytes:
    lines = []
    while True:
        line = stream.readline()  # type: ignore[attr-defined]
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return b"".join(lines)


def test_database_unavailable_answers_451(settings: Settings) -> None:
    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")

    async def scenario() -> str:
        committer = GroupCommit(InboundStore(dead))
        committer.start()
        handler = Handler(committer, ("tiket.test",), lmtp=False)

        envelope = Envelope()
        envelope.original_content = make_mail()
        envelope.mail_from = "budi@dinas.example"
        envelope.rcpt_tos = ["helpdesk@tiket.test"]
        session = Session(loop=asyncio.get_running_loop())
        session.peer = ("127.0.0.1", 1)
        reply = await handler.handle_DATA(None, session, envelope)  # type: ignore[arg-type]
        await committer.stop()
        return reply

    assert asyncio.run(scenario()).startswith("451 ")
    dead.dispose()
