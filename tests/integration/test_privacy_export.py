"""Exporting one person on SQLite and PostgreSQL: the ZIP holds exactly what was stored."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from tests.integration.test_privacy_erase import (
    ADDRESS,
    PHONE,
    _mail_with_attachment,
    _process_and_deliver,
    _seed_the_rest,
    run,
)
from tests.integration.test_privacy_erase import cli as cli  # the fixture
from tests.support import make_mail
from tiket.config import Settings
from tiket.model import Attachment, Entry, InboundMessage, OutboxMessage, Requester, Ticket
from tiket.model.db import Database


def test_export_holds_what_was_stored(cli: CliRunner, settings: Settings, tmp_path: Path) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=_mail_with_attachment())
    run(cli, "ingest", "-", input=make_mail(sender="Ani <ani@dinas.example>"))
    db = Database(settings.database_url)
    try:
        _process_and_deliver(db, settings)
        _seed_the_rest(db)
        out = tmp_path / "budi.zip"
        said = run(cli, "people", "export", "0812-3456-7890", "-o", str(out)).output
        assert "1 tickets" in said
        with zipfile.ZipFile(out) as archive:
            index = json.loads(archive.read("index.json"))
            files = {name: archive.read(name) for name in archive.namelist()}

        with db.session() as session:
            budi = session.scalars(select(Requester).where(Requester.email == ADDRESS)).one()
            ticket = session.scalars(select(Ticket).where(Ticket.requester_id == budi.id)).one()
            entries = session.scalars(
                select(Entry).where(Entry.ticket_id == ticket.id).order_by(Entry.id)
            ).all()
            attachment = session.scalars(select(Attachment)).one()
            inbound = session.scalars(
                select(InboundMessage).where(InboundMessage.ticket_id == ticket.id)
            ).one()
            outbox = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.ticket_id == ticket.id)
                .order_by(OutboxMessage.id)
            ).all()
            assert index["requester"] == {
                "id": budi.id,
                "name": "Budi Santoso",
                "email": ADDRESS,
                "phone": PHONE,
                "organisation": "Dinas Kominfo",
                "language": budi.language,
                "created_at": budi.created_at.isoformat(),
            }
            (exported,) = index["tickets"]
            assert exported["number"] == ticket.number
            assert [e["body"] for e in exported["entries"]] == [e.body for e in entries]
            (shown,) = [a for e in exported["entries"] for a in e["attachments"]]
            assert shown["filename"] == "printer.bin" and files[shown["file"]] == attachment.data
            assert (
                exported["survey"]["rating"] == 4
                and "Terima kasih" in exported["survey"]["comment"]
            )
            assert ADDRESS in exported["solution"]["problem"]
            (original,) = index["inbound_messages"]
            assert files[original["original"]] == inbound.raw
            assert [o["id"] for o in index["outbox"]] == [o.id for o in outbox]
            assert [o["body"] for o in index["outbox"]] == [o.body for o in outbox]
            assert {w["address"] for w in index["watching"]} == {ADDRESS}
            assert [s["address"] for s in index["suppressions"]] == [ADDRESS]
            assert [o["phone"] for o in index["text_opt_outs"]] == [PHONE]
            assert "ani@dinas.example" not in json.dumps(index)  # only Budi's data

        audited = json.loads(run(cli, "audit", "list", "--person", ADDRESS, "--json").output)
        assert [(a["action"], a["operator"]) for a in audited] == [("people export", "Sari")]

        missing = run(cli, "people", "export", "nobody@nowhere.example", "-o", str(out), code=1)
        assert "no requester nobody@nowhere.example" in missing.stderr
        unwritable = tmp_path / "no-such-dir" / "x.zip"
        failed = run(cli, "people", "export", ADDRESS, "-o", str(unwritable), code=1)
        assert "cannot write" in failed.output + failed.stderr
        assert len(json.loads(run(cli, "audit", "list", "--json").output)) == 1
    finally:
        db.dispose()
