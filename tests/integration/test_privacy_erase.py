"""Erasing one person on SQLite and PostgreSQL: nothing of them is left in any table or file,
the reports add up as before, and a second run finds nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from tests.support import make_mail
from tiket.cli import main
from tiket.config import Settings
from tiket.gateway.workers import Deliverer
from tiket.learn.index import SimilarityIndex
from tiket.model import (
    Base,
    Entry,
    Event,
    Requester,
    Solution,
    Status,
    Suppression,
    Survey,
    TextOptOut,
    Ticket,
    Watcher,
    utcnow,
)
from tiket.model.db import Database
from tiket.model.learn import LearnedModel
from tiket.outbound.email import FileSender
from tiket.processing import claim_batch, process_one
from tiket.reports import queries

ADDRESS = "budi@dinas.example"
PHONE = "+6281234567890"
NEEDLES = (ADDRESS, "6281234567890", "081234567890", "0812-3456-7890", "budi santoso")


@pytest.fixture
def cli(tmp_path: Path, settings: Settings) -> CliRunner:
    config = tmp_path / "tiket.toml"
    config.write_text(
        f'[paths]\nvar = "{settings.paths.var}"\n[database]\nurl = "{settings.database_url}"\n'
        '[mail]\naddress = "helpdesk@tiket.test"\nsecret = "s"\n[privacy]\noperator = "Sari"\n'
    )
    return CliRunner(env={"TIKET_CONFIG": str(config)})


def run(cli: CliRunner, *args: str, input: str | bytes | None = None, code: int = 0) -> Result:
    result = cli.invoke(main, list(args), input=input)
    assert result.exit_code == code, (result.output, result.stderr, result.exception)
    return result


def _mail_with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Budi Santoso <{ADDRESS}>"
    msg["To"] = "helpdesk@tiket.test"
    msg["Cc"] = "Sari <sari@dinas.example>"
    msg["Subject"] = "Printer rusak, hubungi 0812-3456-7890"
    msg["Message-ID"] = "<printer-1@dinas.example>"
    msg.set_content(f"Printer lantai 2 rusak. Telepon saya 0812-3456-7890 atau {ADDRESS}.\n")
    msg.add_attachment(
        f"foto printer, dikirim oleh {ADDRESS}".encode(),
        maintype="application",
        subtype="octet-stream",
        filename="printer.bin",
    )
    return msg.as_bytes(policy=SMTP)


def _process_and_deliver(db: Database, settings: Settings) -> None:
    for inbound_id in claim_batch(db, 100):
        process_one(db, settings, b"s", inbound_id)
    deliverer = Deliverer(db, settings, FileSender(settings.outbox_dir))
    for _ in range(10):  # bounded: each round sends what is due
        if not deliverer.work():
            break


def _stored_traces(db: Database) -> list[str]:
    """Every (table, column) of every table in the schema where a needle still appears."""
    found = []
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    text = _as_text(value).lower()
                    found += [f"{table.name}.{column}: {n}" for n in NEEDLES if n in text]
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, str) else ""


def _file_traces(var: Path) -> list[str]:
    found = []
    for path in var.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("latin-1").lower()
            found += [f"{path}: {n}" for n in NEEDLES if n in text]
    return found


def _reports(db: Database) -> dict[str, Any]:
    scope = queries.Scope(datetime(2000, 1, 1, tzinfo=UTC), utcnow() + timedelta(days=1))
    with db.session() as session:
        return {
            "created": sorted(queries.breakdown(session, scope, Ticket.created_at), key=str),
            "closed": sorted(queries.breakdown(session, scope, Ticket.closed_at), key=str),
            "total": queries.total(session, scope, Ticket.created_at),
            "ratings": queries.ratings(session, scope),
        }


def _seed_the_rest(db: Database) -> None:
    """What other channels and pages store about Budi: phone, opt-out, survey, KB, bounce."""
    with db.session() as session:
        budi = session.scalars(select(Requester).where(Requester.email == ADDRESS)).one()
        budi.phone = PHONE
        budi.organisation = "Dinas Kominfo"
        ticket = session.scalars(select(Ticket).where(Ticket.requester_id == budi.id)).first()
        assert ticket is not None
        ticket.status, ticket.resolved_at, ticket.closed_at = Status.CLOSED, utcnow(), utcnow()
        session.add(TextOptOut(phone=PHONE, source="keyword"))
        session.add(
            Suppression(address=ADDRESS, reason="bounce", until=utcnow() + timedelta(days=7))
        )
        session.add(
            Survey(
                ticket_id=ticket.id,
                token="tok-budi",
                channel="sms",
                phone=PHONE,
                expires_at=utcnow() + timedelta(days=14),
                rating=4,
                comment="Terima kasih, Budi Santoso 081234567890",
                answered_at=utcnow(),
                answered_by="sms",
            )
        )
        session.add(Event(ticket_id=ticket.id, kind=queries.RATING_EVENT, data={"rating": 4}))
        session.add(
            Solution(
                ticket_id=ticket.id,
                problem=f"printer rusak lantai dua {ADDRESS} 0812-3456-7890",
                body=f"Ganti toner printer lantai dua; kabari {ADDRESS}",
            )
        )
        session.add(Watcher(ticket_id=ticket.id, address=ADDRESS))


def _search_index(db: Database, index: SimilarityIndex) -> list[str]:
    with db.session() as session:
        index.refresh(session)
    return [f.solution for f in index.search("printer rusak lantai dua toner", 5)]


def test_erase_leaves_no_trace_and_reports_add_up(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=_mail_with_attachment())
    run(cli, "ingest", "-", input=make_mail(sender="Ani <ani@dinas.example>"))
    db = Database(settings.database_url)
    try:
        _process_and_deliver(db, settings)
        _seed_the_rest(db)
        assert _stored_traces(db) and _file_traces(settings.var_dir), "the setup stored nothing"
        index = SimilarityIndex()
        assert any(ADDRESS in text for text in _search_index(db, index))
        before = _reports(db)

        refused = run(cli, "people", "erase", ADDRESS, input="n\n", code=1)
        assert "Aborted" in refused.output
        assert _stored_traces(db)

        erased = run(cli, "people", "erase", ADDRESS.upper(), "--yes").output
        assert "erased: attachment 1," in erased

        assert _stored_traces(db) == []
        assert _file_traces(settings.var_dir) == []
        assert _reports(db) == before
        found = _search_index(db, index)
        assert found and not any(ADDRESS in text or "budi" in text.lower() for text in found)
        with db.session() as session:
            budi = session.scalars(select(Requester).where(Requester.name.like("erased-%"))).one()
            assert (budi.email, budi.phone) == (None, None)
            assert budi.organisation == "Dinas Kominfo"  # the agency breakdown stays right
            event = session.scalars(select(Event).where(Event.kind == "person_erased")).one()
            assert event.actor == "Sari" and event.ticket_id is None
            assert "budi" not in json.dumps(event.data).lower()
            ani = session.scalars(
                select(Requester).where(Requester.email == "ani@dinas.example")
            ).one()
            assert ani.name == "Ani"  # others are untouched

        assert "nothing found" in run(cli, "people", "erase", ADDRESS, "--yes").output
        assert "nothing found" in run(cli, "people", "erase", PHONE, "--yes").output
        with db.session() as session:
            erasures = session.scalars(select(Event).where(Event.kind == "person_erased")).all()
            assert len(erasures) == 1
    finally:
        db.dispose()


ANI_PHONE = "0813-9999-1111"


def _ani_mentions_budi() -> bytes:
    return make_mail(
        sender="Ani <ani@dinas.example>",
        subject="Printer lantai 2 juga rusak",
        body=(
            f"Rekan saya Budi  Santoso (0812 3456 7890, {ADDRESS.upper()}) juga mengalami.\n"
            f"Hubungi saya di {ANI_PHONE}.\n"
        ),
        headers={"Cc": f"Budi Santoso <{ADDRESS}>"},
    )


def _seed_mentions(db: Database) -> None:
    """A note, a knowledge-base row and a trained classifier that name Budi on Ani's ticket."""
    from tiket.learn import classifier

    with db.session() as session:
        ani = session.scalars(select(Requester).where(Requester.email == "ani@dinas.example")).one()
        ticket = session.scalars(select(Ticket).where(Ticket.requester_id == ani.id)).first()
        assert ticket is not None
        session.add(Event(ticket_id=ticket.id, kind="note", data={"text": f"called {ADDRESS}"}))
        session.add(
            Solution(
                ticket_id=ticket.id,
                problem="printer rusak lantai dua, lapor juga +62 812-3456-7890",
                body="Ganti toner printer lantai dua",
            )
        )
        examples = [
            classifier.Example("printer rusak hubungi 081234567890 budi santoso", "network"),
            classifier.Example("email tidak bisa login", "email"),
        ]
        classifier.store(session, classifier.train(examples), {"examples": 2})


def test_erase_reaches_other_peoples_tickets(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=_mail_with_attachment())
    run(cli, "ingest", "-", input=_ani_mentions_budi())
    db = Database(settings.database_url)
    try:
        _process_and_deliver(db, settings)
        _seed_the_rest(db)
        _seed_mentions(db)
        with db.session() as session:
            session.execute(update(Ticket).values(status=Status.CLOSED))  # solutions count
        traces = _stored_traces(db)
        for where in ("entries.body", "inbound_messages.raw", "learned_models.payload"):
            assert any(t.startswith(where) for t in traces), (where, traces)
        before = _reports(db)
        index = SimilarityIndex()
        assert _index_finds_phone(db, index)

        said = run(cli, "people", "erase", PHONE, "--yes")
        assert "mentioned in entries" in said.output
        assert "classifier removed, not retrained" in said.output
        assert "compacted:" in said.output

        assert _stored_traces(db) == []
        assert _file_traces(settings.var_dir) == []
        assert _reports(db) == before
        assert not _index_finds_phone(db, index)  # the daemon's index re-read the rows
        with db.session() as session:
            ani = session.scalars(
                select(Requester).where(Requester.email == "ani@dinas.example")
            ).one()
            body = session.scalars(
                select(Entry.body).join(Ticket).where(Ticket.requester_id == ani.id)
            ).first()
            assert body is not None
            assert "Rekan saya [erased] ([erased], [erased]) juga" in body
            assert ANI_PHONE in body  # nobody else's number goes
            assert session.scalars(select(LearnedModel)).all() == []
        assert "nothing found" in run(cli, "people", "erase", ADDRESS, "--yes").output
        assert "nothing found" in run(cli, "people", "erase", PHONE, "--yes").output
    finally:
        db.dispose()


def _index_finds_phone(db: Database, index: SimilarityIndex) -> bool:
    """Whether the similarity index, as a daemon holds it, still matches Budi's number."""
    with db.session() as session:
        index.refresh(session)
    return bool(index.search("812-3456-7890", 5))
