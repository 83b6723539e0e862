"""The admin CLI on SQLite and PostgreSQL: setup, the MTA pipe, queues, tickets, people."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.support import make_mail
from tiket.cli import main
from tiket.config import Settings


@pytest.fixture
def cli(tmp_path: Path, settings: Settings) -> CliRunner:
    config = tmp_path / "tiket.toml"
    config.write_text(
        f'[paths]\nvar = "{settings.paths.var}"\n[database]\nurl = "{settings.database_url}"\n'
        '[mail]\naddress = "helpdesk@tiket.test"\nsecret = "s"\n'
    )
    return CliRunner(env={"TIKET_CONFIG": str(config)})


def run(cli: CliRunner, *args: str, input: bytes | None = None, code: int = 0) -> Result:
    result = cli.invoke(main, list(args), input=input)
    assert result.exit_code == code, (result.output, result.stderr, result.exception)
    return result


def process_queue(settings: Settings) -> None:
    from tiket.model.db import Database
    from tiket.processing import claim_batch, process_one

    db = Database(settings.database_url)
    for inbound_id in claim_batch(db, 100):
        process_one(db, settings, b"s", inbound_id)
    db.dispose()


def test_init_is_idempotent(cli: CliRunner) -> None:
    first = run(cli, "init")
    assert "created category network" in first.output
    second = run(cli, "init")
    assert "created" not in second.output
    teams = json.loads(run(cli, "teams", "list", "--json").output)
    assert [t["name"] for t in teams] == ["support"]


def test_ingest_exit_codes(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    stored = run(cli, "ingest", "-", input=make_mail())
    assert "stored as inbound 1" in stored.output
    again = run(cli, "ingest", "-", input=make_mail(message_id="<x@y>"))
    assert "inbound 2" in again.output
    duplicate = run(cli, "ingest", "-", input=make_mail(message_id="<x@y>"))
    assert "already stored as inbound 2" in duplicate.output
    garbage = run(cli, "ingest", "-", input=b"\x00\x01\x02 binary junk", code=65)
    assert "not an Internet mail message" in garbage.stderr
    empty = run(cli, "ingest", "-", input=b"", code=65)
    assert "not an Internet mail message" in empty.stderr


def test_ingest_tempfails_when_the_database_is_down(tmp_path: Path) -> None:
    runner = CliRunner(
        env={
            "TIKET_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/none?connect_timeout=1",
            "TIKET_PATHS_VAR": str(tmp_path),
        }
    )
    result = runner.invoke(main, ["ingest", "-"], input=make_mail())
    assert result.exit_code == 75, result.output
    assert "database unavailable" in result.stderr


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[smtp]\nlisten = 25\n")
    result = CliRunner().invoke(main, ["--config", str(bad), "config", "show"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "tiket: smtp.listen must be of type str, got 25"


def test_config_show_masks_and_example_prints(cli: CliRunner) -> None:
    shown = json.loads(run(cli, "config", "show", "--json").output)
    assert shown["mail"]["secret"] == "********"
    assert "[smtp]" in run(cli, "config", "example").output


def test_tickets_list_show_and_trace(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=make_mail())
    process_queue(settings)
    listed = json.loads(run(cli, "tickets", "list", "--json").output)
    assert len(listed) == 1 and listed[0]["category"] == "network"
    number = listed[0]["number"]
    assert json.loads(run(cli, "tickets", "list", "--status", "closed", "--json").output) == []
    assert run(cli, "tickets", "list", "--team", "support").output.startswith(number)
    text = run(cli, "tickets", "show", number.lower()).output
    assert "why it was routed so" in text and "classify" in text
    shown = json.loads(run(cli, "tickets", "show", number, "--json").output)
    assert shown["requester"]["email"] == "budi@dinas.example"
    missing = run(cli, "tickets", "show", "TKT-0000-0000", code=1)
    assert "no ticket TKT-0000-0000" in missing.stderr
    unknown_team = run(cli, "tickets", "list", "--team", "nope", code=1)
    assert "no team 'nope'" in unknown_team.stderr


def test_quarantine_list_and_retry(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=b"Subject: no sender\r\nMessage-ID: <q@x>\r\n\r\nhalo\r\n")
    process_queue(settings)
    failed = json.loads(run(cli, "inbound", "list", "--failed", "--json").output)
    assert len(failed) == 1 and "sender" in failed[0]["error"]
    assert "failed" in run(cli, "inbound", "list").output
    run(cli, "inbound", "retry", "--all")
    assert json.loads(run(cli, "inbound", "list", "--state", "queued", "--json").output)
    assert run(cli, "inbound", "retry", code=2).stderr.startswith("tiket: name message ids")
    assert "no inbound message 99" in run(cli, "inbound", "retry", "99", code=1).stderr


def test_technicians_add(cli: CliRunner) -> None:
    run(cli, "init")
    added = run(
        cli,
        "technicians",
        "add",
        "Wayan@Diskominfo.example",
        "--team",
        "support",
        "--name",
        "Wayan",
    )
    assert "wayan@diskominfo.example in support" in added.output
    teams = json.loads(run(cli, "teams", "list", "--json").output)
    assert teams[0]["members"] == ["wayan@diskominfo.example"]
    assert (
        "no team 'nope'"
        in run(cli, "technicians", "add", "a@b.example", "--team", "nope", code=1).stderr
    )
    assert (
        "not an email address"
        in run(cli, "technicians", "add", "nobody", "--team", "support", code=1).stderr
    )
