"""The access audit on SQLite and PostgreSQL: `tickets show` is recorded, `audit list` filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.support import make_mail
from tiket.cli import main
from tiket.config import Settings
from tiket.errors import PermanentError
from tiket.model import AccessAudit, Ticket
from tiket.model.db import Database
from tiket.privacy import audit
from tiket.processing import claim_batch, process_one


def _config(tmp_path: Path, settings: Settings, operator: str) -> Path:
    config = tmp_path / f"tiket-{operator or 'os'}.toml"
    config.write_text(
        f'[paths]\nvar = "{settings.paths.var}"\n[database]\nurl = "{settings.database_url}"\n'
        '[mail]\naddress = "helpdesk@tiket.test"\nsecret = "s"\n'
        f'[privacy]\noperator = "{operator}"\n'
    )
    return config


@pytest.fixture
def cli(tmp_path: Path, settings: Settings) -> CliRunner:
    return CliRunner(env={"TIKET_CONFIG": str(_config(tmp_path, settings, "Sari (helpdesk)"))})


def run(cli: CliRunner, *args: str, input: bytes | None = None, code: int = 0) -> Result:
    result = cli.invoke(main, list(args), input=input)
    assert result.exit_code == code, (result.output, result.stderr, result.exception)
    return result


def _one_ticket(cli: CliRunner, settings: Settings) -> str:
    run(cli, "init")
    run(cli, "ingest", "-", input=make_mail())
    db = Database(settings.database_url)
    try:
        for inbound_id in claim_batch(db, 10):
            process_one(db, settings, b"s", inbound_id)
        with db.session() as session:  # not by `tickets list`: that is audited too
            return str(session.scalars(select(Ticket.number)).one())
    finally:
        db.dispose()


def test_tickets_show_is_audited_and_listed(
    cli: CliRunner, settings: Settings, tmp_path: Path
) -> None:
    number = _one_ticket(cli, settings)
    assert json.loads(run(cli, "audit", "list", "--json").output) == []

    run(cli, "tickets", "show", number)
    run(cli, "tickets", "show", number, "--json")
    os_user = CliRunner(env={"TIKET_CONFIG": str(_config(tmp_path, settings, ""))})
    run(os_user, "tickets", "show", number.lower())
    run(cli, "tickets", "show", "TKT-0000-0000", code=1)  # nothing shown, nothing recorded

    rows = json.loads(run(cli, "audit", "list", "--ticket", number, "--json").output)
    assert [r["action"] for r in rows] == ["tickets show"] * 3
    assert [r["operator"] for r in rows[:2]] == ["Sari (helpdesk)"] * 2
    assert rows[2]["operator"] not in ("", "Sari (helpdesk)")  # the OS user
    assert all(r["ticket"] == number and r["requester_id"] for r in rows)

    by_person = json.loads(
        run(cli, "audit", "list", "--person", "Budi@Dinas.example", "--json").output
    )
    assert [r["id"] for r in by_person] == [r["id"] for r in rows]
    assert json.loads(run(cli, "audit", "list", "--since", "2999-01-01", "--json").output) == []
    assert len(json.loads(run(cli, "audit", "list", "--since", "2000-01-01", "--json").output)) == 3
    text = run(cli, "audit", "list").output
    assert text.count("tickets show") == 3 and "Sari (helpdesk)" in text

    unknown = run(cli, "audit", "list", "--person", "nobody@nowhere.example", code=1)
    assert "no requester nobody@nowhere.example" in unknown.stderr
    bad_since = run(cli, "audit", "list", "--since", "yesterday", code=2)
    assert "yesterday" in bad_since.output + bad_since.stderr
    assert json.loads(run(cli, "audit", "list", "--ticket", "TKT-0000-0000", "--json").output) == []

    db = Database(settings.database_url)
    try:
        with db.session() as session:
            count = session.scalar(select(func.count()).select_from(AccessAudit))
        assert count == 3
        with pytest.raises(PermanentError, match="append-only"), db.session() as session:
            row = session.scalars(select(AccessAudit)).first()
            assert row is not None
            row.operator = "someone else"
        with pytest.raises(PermanentError, match="append-only"), db.session() as session:
            session.delete(session.scalars(select(AccessAudit)).first())
    finally:
        db.dispose()


def test_the_database_refuses_update_and_delete(db: Database) -> None:
    """Below the ORM: plain SQL cannot rewrite or remove an audit row either."""
    with db.session() as session:
        session.add(AccessAudit(operator="Sari", action="tickets show", ticket_number="TKT-1"))
    for statement in (
        "UPDATE access_audit SET operator = 'someone else'",
        "DELETE FROM access_audit",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            db.engine.begin() as connection,
        ):
            connection.execute(text(statement))
    with db.session() as session:
        rows = session.execute(select(AccessAudit.operator, AccessAudit.action)).all()
    assert [tuple(r) for r in rows] == [("Sari", "tickets show")]
    with db.session() as session:  # appending still works
        session.add(AccessAudit(operator="Sari", action="tickets show", ticket_number="TKT-1"))


def test_every_command_and_page_that_shows_a_ticket_is_audited(
    cli: CliRunner, settings: Settings
) -> None:
    from tiket.gateway.public_status import public_ticket
    from tiket.model import InboundMessage, Requester, Solution

    number = _one_ticket(cli, settings)
    run(cli, "ingest", "-", input=make_mail(subject="belum diproses"))  # no ticket yet
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            session.add(Solution(ticket_id=ticket.id, problem="wifi mati", body="reset AP"))
            budi = session.get_one(Requester, ticket.requester_id)
            budi_id = budi.id
            waiting = session.scalars(
                select(InboundMessage).where(InboundMessage.ticket_id.is_(None))
            ).one()
            waiting.envelope_from = "Budi@Dinas.example"  # as SMTP would have stored it
        run(cli, "tickets", "list")
        run(cli, "tickets", "list", "--json")
        run(cli, "inbound", "list")
        inbound = json.loads(run(cli, "inbound", "list", "--json").output)
        assert len(inbound) == 2 and "Budi@Dinas.example" in json.dumps(inbound)
        run(cli, "kb", "list", "--json")
        with db.session() as session:
            solution_id = session.scalars(select(Solution.id)).one()
        run(cli, "kb", "show", str(solution_id))
        shown = public_ticket(db, number, "id", "Asia/Makassar")
        assert shown is not None and shown.number == number

        rows = json.loads(run(cli, "audit", "list", "--json").output)
        on_ticket = sorted(r["action"] for r in rows if r["ticket"] == number)
        assert on_ticket == sorted(
            ["tickets list"] * 2 + ["inbound list"] * 2 + ["kb list", "kb show", "status page"]
        )
        assert all(r["requester_id"] == budi_id for r in rows)
        unticketed = [r for r in rows if r["ticket"] is None]
        assert [r["action"] for r in unticketed] == ["inbound list"] * 2  # by its sender
        public = [r for r in rows if r["action"] == "status page"]
        assert [r["operator"] for r in public] == [audit.PUBLIC]
        assert {r["operator"] for r in rows if r["action"] != "status page"} == {"Sari (helpdesk)"}
    finally:
        db.dispose()


def test_a_refused_text_that_names_the_phone_number_is_audited(
    cli: CliRunner, settings: Settings
) -> None:
    from tiket.model import Entry, OutboxMessage, Requester

    number = _one_ticket(cli, settings)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            session.get_one(Requester, ticket.requester_id).phone = "+6281234567890"
            before = [
                session.scalar(select(func.count()).select_from(table))
                for table in (Entry, OutboxMessage)
            ]
        # No [twilio] in this configuration: the refusal prints the number it cannot text.
        refused = run(cli, "tickets", "sms", number, "Teknisi OTW", code=1)
        assert "cannot text +6281234567890" in refused.stderr

        rows = json.loads(run(cli, "audit", "list", "--ticket", number, "--json").output)
        assert [(r["action"], r["operator"]) for r in rows] == [("tickets sms", "Sari (helpdesk)")]
        with db.session() as session:  # the refusal itself changed nothing
            after = [
                session.scalar(select(func.count()).select_from(table))
                for table in (Entry, OutboxMessage)
            ]
        assert after == before
    finally:
        db.dispose()
