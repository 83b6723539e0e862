"""The daemon with its public pages, for HTTP and browser tests: config, start, form helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.support import DaemonProcess, Sink, SinkServer

TECH = "wayan@diskominfo.example"
TEAM = "tim-support@diskominfo.example"
FORM_FIELD = re.compile(r'name="(csrf|form_token)" value="([^"]+)"')
NUMBER = re.compile(r'id="ticket-number">(TKT-[0-9A-Z]{4}-[0-9A-Z]{4})<')


@dataclass
class Helpdesk:
    daemon: DaemonProcess
    sink: Sink
    smtp_port: int
    http_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def database(self) -> Any:
        from tiket.config import load
        from tiket.model.db import Database

        return Database(load(self.daemon.config, env={}).database_url)


def write_config(workdir: Path, smtp_port: int, sink_port: int, http_port: int, web: str) -> Path:
    config = workdir / "tiket.toml"
    config.write_text(
        f"""
[paths]
var = "{workdir / "var"}"
[mail]
address = "helpdesk@tiket.test"
office_name = "Diskominfo Kota Contoh"
[smtp]
listen = "127.0.0.1:{smtp_port}"
[outbound]
smarthost = "127.0.0.1:{sink_port}"
retry_base_seconds = 0.2
[worker]
poll_seconds = 0.2
[scheduler]
enabled = false
[http]
listen = "127.0.0.1:{http_port}"
public_url = "http://127.0.0.1:{http_port}"
[web]
{web}
"""
    )
    return config


@contextmanager
def running_helpdesk(workdir: Path, web: str = "") -> Iterator[Helpdesk]:
    """`tiket serve` on SQLite with a technician, the team mailbox pointed at the sink."""
    smtp_port, sink_port, http_port = free_port(), free_port(), free_port()
    config = write_config(workdir, smtp_port, sink_port, http_port, web)
    daemon = DaemonProcess(workdir, config)
    daemon.tiket("init")
    daemon.tiket("technicians", "add", TECH, "--team", "support", "--name", "Wayan Sudarma")
    helpdesk = Helpdesk(daemon, Sink(), smtp_port, http_port)
    _set_team_mailbox(helpdesk)
    with SinkServer(sink_port) as sink:
        helpdesk.sink = sink
        daemon.start(smtp_port)
        try:
            yield helpdesk
        finally:
            code = daemon.stop()
            assert code == 0, daemon.log.read_text()[-3000:]


def _set_team_mailbox(helpdesk: Helpdesk) -> None:
    from sqlalchemy import update

    from tiket.model import Team

    db = helpdesk.database()
    with db.session() as session:
        session.execute(update(Team).values(mailbox=TEAM))
    db.dispose()


def form_fields(client: httpx.Client, path: str = "/") -> dict[str, str]:
    """GET a page with a form: its CSRF field and form token (the client keeps the cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return dict(FORM_FIELD.findall(page.text))


def report(
    client: httpx.Client,
    *,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    **fields: str,
) -> httpx.Response:
    values = {
        "name": "Budi Santoso",
        "agency": "Dinas Pendidikan",
        "email": "budi@dinas.example",
        "phone": "",
        "category": "network",
        "description": "Wifi di ruang rapat lantai 2 mati sejak pagi.",
        **form_fields(client),
    }
    values.update(fields)
    return client.post("/report", data=values, files=files or [])


def ticket_number(response: httpx.Response) -> str:
    match = NUMBER.search(response.text)
    assert match is not None, response.text
    return match.group(1)
