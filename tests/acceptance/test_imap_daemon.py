"""Two `tiket serve` processes on one IMAP mailbox and one PostgreSQL database; one is killed."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import free_port
from tests.integration.dovecot import Dovecot, dovecot_fixture, mails  # noqa: F401
from tests.support import DaemonProcess, wait_for
from tiket.model import InboundMessage, InboundState, Ticket
from tiket.model.db import Database

POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def write_config(workdir: Path, db_url: str, server: Dovecot, smtp_port: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "tiket.toml"
    config.write_text(
        f"""
[paths]
var = "{workdir / "var"}"
[database]
url = "{db_url}"
[mail]
address = "helpdesk@tiket.test"
secret = "shared-by-both-daemons"
[smtp]
listen = "127.0.0.1:{smtp_port}"
[http]
listen = ""
[worker]
poll_seconds = 0.2
[scheduler]
enabled = false

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


def counts(db: Database) -> tuple[int, int, int]:
    """(inbound rows, rows still queued, tickets)"""
    with db.session() as session:
        rows = session.scalar(select(func.count(InboundMessage.id))) or 0
        queued = (
            session.scalar(
                select(func.count(InboundMessage.id)).where(
                    InboundMessage.state == InboundState.QUEUED
                )
            )
            or 0
        )
        tickets = session.scalar(select(func.count(Ticket.id))) or 0
    return rows, queued, tickets


@POSTGRES_ONLY
def test_two_daemons_share_a_mailbox_and_survive_a_kill(
    dovecot: Dovecot, tmp_path: Path, db_url: str
) -> None:
    ports = [free_port(), free_port()]
    daemons = [
        DaemonProcess(tmp_path / name, write_config(tmp_path / name, db_url, dovecot, port))
        for name, port in zip(("one", "two"), ports, strict=True)
    ]
    daemons[0].tiket("init")
    dovecot.drop(mails(120, "bulk"))
    db = Database(db_url)
    try:
        with ThreadPoolExecutor(2) as pool:  # both start at once: they race for the mail
            list(pool.map(DaemonProcess.start, daemons, ports))
        wait_for(lambda: counts(db)[0] >= 30, timeout=30, what="the drain to begin")
        daemons[0].kill()  # mid-drain: whatever it committed but did not move is taken again
        dovecot.deliver(mails(20, "late"))
        daemons[0].start(ports[0])

        wait_for(
            lambda: counts(db) == (140, 0, 140), timeout=60, what="140 mails, 140 tickets, done"
        )
        wait_for(lambda: dovecot.count("INBOX") == 0, what="INBOX to be empty")
        assert dovecot.count("tiket.processed") == 140

        status = daemons[1].tiket("status", "--json", check=False)
        report = json.loads(status.stdout)
        (mailbox,) = report["mailboxes"]
        assert mailbox["connected"] and mailbox["taken_today"] == 140, status.stdout
        assert status.returncode == 0, status.stderr
    finally:
        db.dispose()
        codes = [daemon.stop() for daemon in daemons]
    assert codes == [0, 0], [d.log.read_text()[-3000:] for d in daemons]
    for daemon in daemons:
        assert "Traceback" not in daemon.log.read_text()
