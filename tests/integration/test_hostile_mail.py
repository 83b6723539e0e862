"""Hostile mail through a real SMTP/LMTP conversation and then processing.

SMTP smuggling, over-long headers, nested message/rfc822 bombs, a zip bomb and broken MIME:
each ends as exactly the messages the sender really sent, as an entry with what can be read or a
quarantine with a reason, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import io
import socket
import tracemalloc
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select

from tests.conftest import free_port
from tests.integration.desk_harness import Harness
from tests.integration.test_smtp import Running
from tests.support import make_mail
from tiket.config import Settings
from tiket.inbound.smtp import LINE_LIMIT
from tiket.model import Attachment, Entry, InboundMessage, Ticket
from tiket.model.db import Database

MAX_BYTES = 8_000_000
HELPDESK = "helpdesk@tiket.test"
EVIL = "evil@attacker.example"


@dataclass
class Live:
    smtp: int
    lmtp: int
    desk: Harness


@pytest.fixture
def live(settings: Settings, db: Database) -> Iterator[Live]:
    """Listeners only (processing off): the test processes the queue itself, then looks."""
    port, lmtp_port = free_port(), free_port()
    served = replace(
        settings,
        smtp=replace(
            settings.smtp,
            listen=f"127.0.0.1:{port}",
            lmtp_listen=f"127.0.0.1:{lmtp_port}",
            max_message_bytes=MAX_BYTES,
        ),
        worker=replace(settings.worker, process=False, deliver=False),
        http=replace(settings.http, listen=f"127.0.0.1:{free_port()}"),
    )
    running = Running(served)
    running.start(port)
    yield Live(port, lmtp_port, Harness(db, settings))
    running.stop()


class Wire:
    """A raw client socket: exact bytes out, replies in, nothing normalised on the way."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.stream = self.sock.makefile("rb")
        assert self.reply().startswith(b"220")

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self, line: bytes) -> bytes:
        self.send(line + b"\r\n")
        return self.reply()

    def reply(self) -> bytes:
        lines = []
        while True:
            line = self.stream.readline()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return b"".join(lines)

    def rest(self) -> list[bytes]:
        """Every reply until the server closes the connection."""
        replies = []
        while reply := self.reply():
            replies.append(reply)
        return replies

    def transaction(self, data: bytes, *, rcpts: int = 1, lmtp: bool = False) -> None:
        """Greet, MAIL, RCPT and DATA, then send `data` exactly as given (it must end DATA)."""
        assert self.command(b"LHLO client.test" if lmtp else b"EHLO client.test")[:3] == b"250"
        assert self.command(b"MAIL FROM:<budi@dinas.example>")[:3] == b"250"
        for _ in range(rcpts):
            assert self.command(f"RCPT TO:<{HELPDESK}>".encode())[:3] == b"250"
        assert self.command(b"DATA")[:3] == b"354"
        self.send(data)


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def unstuff(wire: bytes) -> bytes:
    """What RFC 5321 4.5.2 says the server keeps of DATA: CRLF lines, a leading dot removed."""
    lines = wire.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def rows(db: Database) -> list[InboundMessage]:
    with db.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def tickets(db: Database) -> list[Ticket]:
    with db.session() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def entries(db: Database) -> list[Entry]:
    with db.session() as session:
        return list(session.scalars(select(Entry).order_by(Entry.id)))


def attachments(db: Database) -> list[Attachment]:
    with db.session() as session:
        return list(session.scalars(select(Attachment).order_by(Attachment.id)))


def processed(live: Live) -> InboundMessage:
    """Process the queue; exactly one message must have been accepted."""
    live.desk.process()
    (row,) = rows(live.desk.db)
    assert row.state in {"done", "failed"}, row.state
    return row


# --- SMTP smuggling -------------------------------------------------------------------------

# Each is a line ending some receiver might take for the end of DATA, then the smuggled
# envelope. aiosmtpd 1.4.6 ends DATA only at CRLF "." CRLF (CVE-2024-27305 was fixed in 1.4.5).
SMUGGLING = [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\n.\r"]


def smuggling_mail(sequence: bytes) -> bytes:
    """A real mail whose body hides a second, smuggled SMTP transaction behind `sequence`."""
    honest = crlf(make_mail(subject="Printer lantai 3 rusak", body="Printer rusak.\n"))
    smuggled = (
        b"MAIL FROM:<" + EVIL.encode() + b">\r\n"
        b"RCPT TO:<" + HELPDESK.encode() + b">\r\n"
        b"DATA\r\n"
        b"From: Direktur <" + EVIL.encode() + b">\r\n"
        b"To: " + HELPDESK.encode() + b"\r\n"
        b"Subject: smuggled ticket\r\n"
        b"\r\n"
        b"smuggled body"
    )
    return honest + b"Salam" + sequence + smuggled + sequence + b"\r\n.\r\n"


@pytest.mark.parametrize("protocol", ["smtp", "lmtp"])
@pytest.mark.parametrize("sequence", SMUGGLING, ids=[repr(s)[2:-1] for s in SMUGGLING])
def test_smuggled_transaction_stays_data(live: Live, protocol: str, sequence: bytes) -> None:
    lmtp = protocol == "lmtp"
    wire_bytes = smuggling_mail(sequence)
    with Wire(live.lmtp if lmtp else live.smtp) as wire:
        wire.transaction(wire_bytes, lmtp=lmtp)
        wire.send(b"QUIT\r\n")
        replies = wire.rest()
    # One answer for the one DATA, then the QUIT: no MAIL/RCPT/DATA replies were provoked.
    assert [reply[:3] for reply in replies] == [b"250", b"221"], replies

    row = processed(live)
    assert row.raw == unstuff(wire_bytes[: -len(b".\r\n")])  # every byte kept as data
    assert row.state == "done", row.error
    (ticket,) = tickets(live.desk.db)
    assert ticket.subject == "Printer lantai 3 rusak"
    (entry,) = entries(live.desk.db)
    assert "RCPT TO:<helpdesk@tiket.test>" in entry.body
    assert "smuggled body" in entry.body
    assert live.desk.outbox(recipient=EVIL) == []


def test_bare_lf_mail_is_accepted_whole(live: Live) -> None:
    """A client that writes bare LF throughout still delivers its mail, as one message."""
    raw = make_mail(body="baris satu\n.\nbaris tiga\n").replace(b"\r\n", b"\n")
    with Wire(live.smtp) as wire:
        wire.transaction(raw + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.raw == raw + b"\r\n"  # the CRLF before the final dot belongs to the data
    (entry,) = entries(live.desk.db)
    assert entry.body.splitlines() == ["baris satu", ".", "baris tiga"]


# --- over-long headers ----------------------------------------------------------------------


def test_half_megabyte_subject_becomes_a_bounded_ticket_subject(live: Live) -> None:
    subject = "Jaringan putus " + "sangat panjang " * 35_000  # ~525 KB on one line
    raw = crlf(make_mail(subject="placeholder")).replace(b"placeholder", subject.encode())
    assert len(raw) > 500_000
    with Wire(live.smtp) as wire:
        wire.transaction(raw + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.state == "done", row.error
    (ticket,) = tickets(live.desk.db)
    assert ticket.subject.startswith("Jaringan putus sangat panjang")
    assert len(ticket.subject) <= 998
    for mail in live.desk.new_mail():
        assert len(str(mail["Subject"])) <= 998


def test_header_line_over_the_line_limit_is_refused_clearly(live: Live) -> None:
    raw = crlf(make_mail()).replace(
        b"\r\nSubject:", b"\r\nX-Junk: " + b"j" * (2 << 20) + b"\r\nSubject:"
    )
    assert len(raw) > LINE_LIMIT
    with Wire(live.smtp) as wire:
        wire.transaction(raw + b"\r\n.\r\n")
        refusal = wire.reply()
        # The session goes on: the sender can still deliver a sane mail on the same connection.
        assert wire.command(b"RSET")[:3] == b"250"
        wire.transaction(crlf(make_mail()) + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    assert refusal.startswith(b"500 5.5.2 Line too long"), refusal
    assert str(LINE_LIMIT).encode() in refusal  # the sender's bounce says what the limit is
    row = processed(live)  # only the sane one
    assert row.state == "done"
    assert len(row.raw or b"") < 10_000


def test_ten_thousand_headers(live: Live) -> None:
    many = b"".join(b"X-Header-%d: nilai %d\r\n" % (i, i) for i in range(10_000))
    raw = crlf(make_mail()).replace(b"\r\nSubject:", b"\r\n" + many + b"Subject:", 1)
    with Wire(live.smtp) as wire:
        wire.transaction(raw + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.state == "done", row.error
    (ticket,) = tickets(live.desk.db)
    assert ticket.subject == "Wifi di kantor mati"


def test_over_long_message_id_and_names_do_not_break_the_row(live: Live) -> None:
    """Values longer than their columns (Message-ID, display name) are cut, never fail PG."""
    message_id = "<" + "m" * 5_000 + "@dinas.example>"
    name = "Budi Santoso dari Dinas Komunikasi " * 20  # 700 characters
    raw = crlf(make_mail(sender=f'"{name}" <budi@dinas.example>', message_id=message_id))
    with Wire(live.smtp) as wire:
        wire.transaction(raw + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.state == "done", row.error
    (entry,) = entries(live.desk.db)
    assert entry.author_address == "budi@dinas.example"
    assert entry.author_name.startswith("Budi Santoso dari Dinas")
    assert entry.message_id is None  # no real Message-ID is that long: not kept for threading


def test_over_long_envelope_addresses_are_refused(live: Live) -> None:
    """Paths past RFC 5321's 256 octets are refused at MAIL and RCPT, before anything is stored.

    Accepted, a 400-character sender would fail the PostgreSQL insert of the whole commit batch
    (envelope_from holds 320), answering 451 to every other sender in that batch.
    """
    with Wire(live.smtp) as wire:
        assert wire.command(b"EHLO client.test")[:3] == b"250"
        reply = wire.command(b"MAIL FROM:<" + b"a" * 400 + b"@dinas.example>")
        assert reply.startswith(b"501 5.1.7 Sender address too long"), reply
        assert wire.command(b"MAIL FROM:<budi@dinas.example>")[:3] == b"250"
        reply = wire.command(b"RCPT TO:<" + b"h" * 400 + b"@tiket.test>")
        assert reply.startswith(b"501 5.1.3 Recipient address too long"), reply
        assert wire.command(b"RCPT TO:<helpdesk@tiket.test>")[:3] == b"250"
        assert wire.command(b"DATA")[:3] == b"354"
        wire.send(crlf(make_mail()) + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert (row.envelope_from, row.envelope_to) == ("budi@dinas.example", [HELPDESK])


# --- nested message/rfc822 bombs ------------------------------------------------------------


def _inner(subject: str, body: bytes) -> bytes:
    return (
        b"From: Budi <budi@dinas.example>\r\nTo: " + HELPDESK.encode() + b"\r\n"
        b"Subject: " + subject.encode() + b"\r\n\r\n" + body + b"\r\n"
    )


def nested(depth: int) -> bytes:
    """A mail whose text comes first, then a message that holds a message ... `depth` deep."""
    mail = _inner("level 0", b"the innermost text")
    for level in range(1, depth + 1):
        boundary = b"b%d" % level
        mail = (
            b"From: Budi <budi@dinas.example>\r\nTo: " + HELPDESK.encode() + b"\r\n"
            b"Subject: level " + str(level).encode() + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
            b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\n"
            b"Teks lapisan " + str(level).encode() + b"\r\n"
            b"--" + boundary + b"\r\nContent-Type: message/rfc822\r\n\r\n" + mail + b"\r\n"
            b"--" + boundary + b"--\r\n"
        )
    return mail


def test_two_hundred_deep_nesting_keeps_the_outer_text(live: Live) -> None:
    """The outer text is the entry; the attached message, too deep to keep whole, its headers."""
    with Wire(live.smtp) as wire:
        wire.transaction(nested(200) + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.state == "done", row.error
    (entry,) = entries(live.desk.db)
    assert entry.body == "Teks lapisan 200"
    (stored,) = attachments(live.desk.db)
    assert stored.content_type == "message/rfc822"
    assert b"Subject: level 199" in stored.data
    assert b"Teks lapisan" not in stored.data  # the 199 levels below are not serialised


def test_two_thousand_deep_nesting_is_quarantined_with_a_reason(live: Live) -> None:
    with Wire(live.smtp) as wire:
        wire.transaction(nested(2_000) + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.state == "failed"
    assert row.error == "MIME parts nested too deeply to parse (a message bomb?)"
    assert tickets(live.desk.db) == []


def test_a_thousand_attached_messages(live: Live) -> None:
    parts = [b"--W\r\nContent-Type: text/plain\r\n\r\nTerlampir seribu surat.\r\n"]
    for index in range(1_000):
        body = f"surat nomor {index}".encode()
        parts.append(b"--W\r\nContent-Type: message/rfc822\r\n\r\n" + _inner(f"m{index}", body))
    head = crlf(make_mail(subject="seribu", body="x"))
    head = head[: head.index(b"\r\n\r\n")].replace(b"Content-Type: text/plain", b"X-Was: text")
    raw = head + b"\r\nContent-Type: multipart/mixed; boundary=W\r\n\r\n"
    raw += b"".join(parts) + b"--W--\r\n"
    with Wire(live.smtp) as wire:
        wire.transaction(raw + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.state == "done", row.error
    (entry,) = entries(live.desk.db)
    assert entry.body.startswith("Terlampir seribu surat.")
    stored = attachments(live.desk.db)
    assert len(stored) == 1_000
    assert all(a.content_type == "message/rfc822" for a in stored)
    assert b"surat nomor 999" in stored[-1].data


# --- zip bomb -------------------------------------------------------------------------------


def zip_bomb() -> bytes:
    """50 MB of zeros deflated, sixteen times inside an outer zip: 800 MB if anyone expands it."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(50_000_000))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(16):
            archive.writestr(f"laporan-{index}.zip", inner.getvalue())
    return outer.getvalue()


def test_zip_bomb_is_stored_unexpanded(live: Live) -> None:
    bomb = zip_bomb()
    assert len(bomb) < 500_000
    head = crlf(make_mail(subject="Laporan bulanan", body="x"))
    head = head[: head.index(b"\r\n\r\n")].replace(b"Content-Type: text/plain", b"X-Was: text")
    encoded = base64.encodebytes(bomb).replace(b"\n", b"\r\n")
    raw = (
        head + b"\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n"
        b"--Z\r\nContent-Type: text/plain\r\n\r\nLaporan terlampir.\r\n"
        b"--Z\r\nContent-Type: application/zip\r\n"
        b'Content-Disposition: attachment; filename="laporan.zip"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--Z--\r\n"
    )
    with Wire(live.smtp) as wire:
        wire.transaction(raw + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    tracemalloc.start()
    try:
        row = processed(live)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert row.state == "done", row.error
    (stored,) = attachments(live.desk.db)
    assert (stored.filename, stored.content_type) == ("laporan.zip", "application/zip")
    assert stored.size == len(bomb)
    assert stored.data == bomb
    # Expanding even one inner member would allocate 50 MB; processing stays far below.
    assert peak < 25_000_000, peak


# --- broken MIME ----------------------------------------------------------------------------


def broken(boundary: bytes, *, close: bool, base64_body: bytes) -> bytes:
    head = crlf(make_mail(subject="Lampiran rusak", body="x"))
    head = head[: head.index(b"\r\n\r\n")].replace(b"Content-Type: text/plain", b"X-Was: text")
    raw = (
        head + b'\r\nContent-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
        b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\nTolong lihat lampiran.\r\n"
        b"--" + boundary + b"\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="surat.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64_body + b"\r\n"
    )
    return raw + (b"--" + boundary + b"--\r\n" if close else b"")


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
PDF64 = base64.encodebytes(PDF).replace(b"\n", b"\r\n").rstrip()


@pytest.mark.parametrize(
    ("boundary", "close", "body"),
    [
        pytest.param(b"B" * 5_000, True, PDF64, id="boundary-5000-chars"),
        pytest.param(b"batas", False, PDF64, id="no-closing-boundary"),
        pytest.param(b"batas", True, PDF64[: len(PDF64) // 2 + 3], id="truncated-base64"),
        pytest.param(b"batas", False, PDF64[: len(PDF64) // 2 + 3], id="truncated-and-unclosed"),
    ],
)
def test_broken_mime_keeps_what_can_be_read(
    live: Live, boundary: bytes, close: bool, body: bytes
) -> None:
    with Wire(live.smtp) as wire:
        wire.transaction(broken(boundary, close=close, base64_body=body) + b"\r\n.\r\n")
        assert wire.reply()[:3] == b"250"
    row = processed(live)
    assert row.state == "done", row.error
    (entry,) = entries(live.desk.db)
    assert entry.body.startswith("Tolong lihat lampiran.")
    (stored,) = attachments(live.desk.db)
    assert stored.filename == "surat.pdf"
    assert stored.data.startswith(b"%PDF-1.4\n")
    assert stored.size == len(stored.data)
    if body == PDF64:
        assert stored.data == PDF
    else:  # every byte the base64 before the cut holds, nothing invented after it
        assert PDF.startswith(stored.data)
        assert len(stored.data) == len(body.replace(b"\r\n", b"")) * 3 // 4
