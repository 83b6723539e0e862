"""A 25 MB attachment sent by a real SMTP client is stored byte for byte, on both databases.

Large base64 bodies take their own path through parsing (inbound/largeparts.py) and, on SQLite,
into the database (model/blobs.py); this checks that the bytes at the end are the bytes sent.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import select

from tests.conftest import free_port
from tests.integration.desk_harness import Harness
from tests.integration.test_smtp import Running
from tiket.config import Settings
from tiket.inbound.store import original
from tiket.model import Attachment, Entry, InboundMessage
from tiket.model.db import Database

SIZE = 25 * 1024 * 1024


@dataclass
class Live:
    port: int
    desk: Harness


@pytest.fixture
def live(settings: Settings, db: Database) -> Iterator[Live]:
    """The SMTP listener only: the test processes the queue itself."""
    port = free_port()
    served = replace(
        settings,
        smtp=replace(settings.smtp, listen=f"127.0.0.1:{port}", max_message_bytes=64 << 20),
        worker=replace(settings.worker, process=False, deliver=False),
        http=replace(settings.http, listen=f"127.0.0.1:{free_port()}"),
    )
    running = Running(served)
    running.start(port)
    yield Live(port, Harness(db, settings))
    running.stop()


def test_a_25_mb_attachment_is_stored_byte_identical(live: Live) -> None:
    scan = b"%PDF-1.4\n" + os.urandom(SIZE) + b"\n%%EOF\n"
    small = b"Nomor pegawai: 1987\n"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "big@dinas.example", "helpdesk@tiket.test", "scan"
    msg["Message-ID"] = "<scan-25mb@dinas.example>"
    msg.set_content("Hasil scan terlampir.")
    msg.add_attachment(scan, maintype="application", subtype="pdf", filename="scan.pdf")
    msg.add_attachment(small, maintype="text", subtype="plain", filename="catatan.txt")
    wire = msg.as_bytes(policy=SMTP)
    with smtplib.SMTP("127.0.0.1", live.port, timeout=120) as client:
        client.sendmail("big@dinas.example", ["helpdesk@tiket.test"], wire)

    assert live.desk.process() != []
    db = live.desk.db
    with db.session() as session:
        (row,) = session.scalars(select(InboundMessage))
        assert (row.state, row.error) == ("done", None)
        stored = session.execute(
            select(Attachment.filename, Attachment.content_type, Attachment.size, Attachment.data)
            .join(Entry, Entry.id == Attachment.entry_id)
            .where(Entry.inbound_id == row.id)
            .order_by(Attachment.id)
        ).all()
        body = session.scalar(select(Entry.body).where(Entry.inbound_id == row.id))
        kept = original(session, row)  # read in pieces, as processing read it
        assert kept is not None
        assert hashlib.sha256(kept).hexdigest() == hashlib.sha256(wire).hexdigest()
        assert row.size == len(wire)
    assert [(name, kind, size) for name, kind, size, _ in stored] == [
        ("scan.pdf", "application/pdf", len(scan)),
        ("catatan.txt", "text/plain", len(small)),
    ]
    # Digests, not the values: pytest's diff of two 25 MB values takes minutes.
    assert hashlib.sha256(stored[0].data).hexdigest() == hashlib.sha256(scan).hexdigest()
    assert stored[1].data == small
    assert body == "Hasil scan terlampir."
