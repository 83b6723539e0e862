"""`tiket serve` as a subprocess, driven from outside over SMTP, answers caught by a sink."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.support import DaemonProcess, SinkServer, body_text, make_mail, reply_to, send, wait_for

TECH = "wayan@diskominfo.example"
REQUESTER = "budi@dinas.example"
TEAM = "tim-support@diskominfo.example"


def write_config(workdir: Path, db_url: str, smtp_port: int, sink_port: int) -> Path:
    config = workdir / "tiket.toml"
    config.write_text(
        f"""
[paths]
var = "{workdir / "var"}"
[database]
url = "{db_url}"
[mail]
address = "helpdesk@tiket.test"
[smtp]
listen = "127.0.0.1:{smtp_port}"
[outbound]
smarthost = "127.0.0.1:{sink_port}"
retry_base_seconds = 0.2
[worker]
poll_seconds = 0.2
[http]
listen = "127.0.0.1:{free_port()}"
"""
    )
    return config


@pytest.fixture
def helpdesk(tmp_path: Path, db_url: str) -> Iterator[tuple[DaemonProcess, int, SinkServer]]:
    smtp_port, sink_port = free_port(), free_port()
    config = write_config(tmp_path, db_url, smtp_port, sink_port)
    daemon = DaemonProcess(tmp_path, config)
    daemon.tiket("init")
    daemon.tiket("technicians", "add", TECH, "--team", "support", "--name", "Wayan")
    with SinkServer(sink_port) as sink:
        server = SinkServer.__new__(SinkServer)
        server.sink = sink
        try:
            yield daemon, smtp_port, server
        finally:
            code = daemon.stop()
            assert code == 0, daemon.log.read_text()[-3000:]


def _set_team_mailbox(daemon: DaemonProcess) -> None:
    # The seeded team's mailbox is support@<domain>; point it at a mailbox the sink records.
    from sqlalchemy import update

    from tiket.config import load
    from tiket.model import Team
    from tiket.model.db import Database

    db = Database(load(daemon.config, env={}).database_url)
    with db.session() as session:
        session.execute(update(Team).values(mailbox=TEAM))
    db.dispose()


def test_a_whole_conversation_by_smtp(helpdesk: tuple[DaemonProcess, int, SinkServer]) -> None:
    daemon, port, server = helpdesk
    sink = server.sink
    _set_team_mailbox(daemon)
    daemon.start(port)

    send(port, make_mail(sender=f"Budi <{REQUESTER}>"), sender=REQUESTER)
    (ack,) = wait_for(lambda: sink.to(REQUESTER), what="acknowledgement at the sink")
    (notify,) = wait_for(lambda: sink.to(TEAM), what="team notification at the sink")
    number = re.search(r"TKT-[0-9A-Z]{4}-[0-9A-Z]{4}", str(ack["Subject"]))
    assert number is not None
    number_text = number.group(0)

    # The technician answers the notification from an ordinary mail client.
    answer = reply_to(
        notify.as_bytes(),
        sender=f"Wayan <{TECH}>",
        body="Access point lantai 2 sudah kami restart, silakan dicoba.",
    )
    send(port, answer, sender=TECH, rcpts=(str(notify["Reply-To"]),))
    reply = wait_for(lambda: sink.to(REQUESTER)[1:], what="technician's reply")[0]
    assert "Access point lantai 2" in body_text(reply)
    assert "wrote:" not in body_text(reply)

    # The requester closes by keyword, replying to the technician's answer.
    send(
        port,
        reply_to(reply.as_bytes(), sender=REQUESTER, body="Sudah beres, terima kasih."),
        sender=REQUESTER,
        rcpts=(str(reply["Reply-To"]),),
    )
    confirm = wait_for(lambda: sink.to(REQUESTER)[2:], what="close confirmation")[0]
    assert "ditutup" in str(confirm["Subject"])

    shown = json.loads(daemon.tiket("tickets", "show", number_text, "--json").stdout)
    assert shown["status"] == "closed"
    assert [e["kind"] for e in shown["entries"]] == ["message", "reply", "message"]
    for key in (
        "number",
        "status",
        "category",
        "team",
        "subject",
        "channel",
        "created_at",
        "closed_at",
        "requester",
        "entries",
    ):
        assert key in shown
    assert set(shown["entries"][0]) >= {
        "kind",
        "channel",
        "direction",
        "author",
        "body",
        "created_at",
    }


def test_killed_between_accept_and_processing_processes_exactly_once(
    helpdesk: tuple[DaemonProcess, int, SinkServer],
) -> None:
    daemon, port, server = helpdesk
    # Listener only: the message is committed and answered 250, and nothing processes it.
    daemon.start(port, {"TIKET_WORKER_PROCESS": "false"})
    send(port, make_mail(), sender=REQUESTER)
    daemon.kill()
    listed = json.loads(daemon.tiket("inbound", "list", "--json").stdout)
    assert [row["state"] for row in listed] == ["queued"]

    daemon.start(port)
    wait_for(lambda: server.sink.to(REQUESTER), what="acknowledgement after restart")
    daemon.stop()
    daemon.start(port)  # a second restart finds nothing left to do
    send(port, make_mail(subject="kedua", body="pesan kedua"), sender=REQUESTER)
    wait_for(lambda: len(server.sink.to(REQUESTER)) == 2, what="second acknowledgement")
    tickets = json.loads(daemon.tiket("tickets", "list", "--json").stdout)
    assert len(tickets) == 2
    assert len(server.sink.to(REQUESTER)) == 2


def test_smarthost_down_then_up_delivers_once(
    helpdesk: tuple[DaemonProcess, int, SinkServer],
) -> None:
    daemon, port, server = helpdesk
    server.sink.refuse = "451 4.3.0 try again later"
    daemon.start(port)
    send(port, make_mail(), sender=REQUESTER)
    wait_for(lambda: _outbox_errors(daemon), what="a refused delivery attempt")
    server.sink.refuse = None
    wait_for(
        lambda: server.sink.to(REQUESTER), timeout=30, what="delivery after the smarthost recovers"
    )
    wait_for(lambda: _all_sent(daemon), timeout=30, what="every outbox row sent")
    assert len(server.sink.to(REQUESTER)) == 1


def _outbox_rows(daemon: DaemonProcess) -> list[tuple[str, str | None]]:
    from sqlalchemy import select

    from tiket.config import load
    from tiket.model import OutboxMessage
    from tiket.model.db import Database

    db = Database(load(daemon.config, env={}).database_url)
    with db.session() as session:
        rows = [(r.state, r.last_error) for r in session.scalars(select(OutboxMessage))]
    db.dispose()
    return rows


def _outbox_errors(daemon: DaemonProcess) -> bool:
    return any(error for _, error in _outbox_rows(daemon))


def _all_sent(daemon: DaemonProcess) -> bool:
    rows = _outbox_rows(daemon)
    return bool(rows) and all(state == "sent" for state, _ in rows)
