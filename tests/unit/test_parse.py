"""parse(): headers, bodies, attachments and broken input, with small hand-written mails."""

from __future__ import annotations

import base64

import pytest

from tiket.errors import NotAMail
from tiket.inbound.parse import Address, looks_like_mail, parse

SIMPLE = (
    b"From: Budi Santoso <Budi@Example.go.id>\r\n"
    b'To: helpdesk@example.go.id, "Tim IT" <it@example.go.id>\r\n'
    b"Cc: =?utf-8?q?Sri_W=C3=A4hyuni?= <sri@example.go.id>\r\n"
    b"Subject: =?utf-8?b?SmFyaW5nYW4gV2lGaQ==?= mati\r\n"
    b"Message-ID: <abc@example.go.id>\r\n"
    b"In-Reply-To: <t1@helpdesk>\r\n"
    b"References: <t0@helpdesk> <t1@helpdesk>\r\n"
    b"Date: Mon, 3 Jun 2024 09:15:00 +0700\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Selamat pagi, WiFi di lantai 2 mati.\r\n"
)


def test_headers_of_a_simple_mail() -> None:
    msg = parse(SIMPLE)
    assert msg.from_ == Address("Budi Santoso", "budi@example.go.id")
    assert [a.email for a in msg.to] == ["helpdesk@example.go.id", "it@example.go.id"]
    assert msg.cc == (Address("Sri Wähyuni", "sri@example.go.id"),)
    assert msg.subject == "Jaringan WiFi mati"
    assert msg.message_id == "<abc@example.go.id>"
    assert msg.in_reply_to == ("<t1@helpdesk>",)
    assert msg.references == ("<t0@helpdesk>", "<t1@helpdesk>")
    assert msg.date is not None and msg.date.utcoffset() is not None
    assert msg.text == "Selamat pagi, WiFi di lantai 2 mati."
    assert not msg.html
    assert msg.headers["subject"] == ("Jaringan WiFi mati",)


def test_encoded_display_name_with_a_comma_stays_one_address() -> None:
    raw = b"From: =?iso-8859-1?Q?B=FCrling=2C_Andreas?= <a@b.de>\n\nhi\n"
    assert parse(raw).from_ == Address("Bürling, Andreas", "a@b.de")


def test_adjacent_encoded_words_lose_the_space_between_them() -> None:
    raw = b"Subject: =?utf-8?q?Per?= =?utf-8?q?mintaan?= akun\n\nx\n"
    assert parse(raw).subject == "Permintaan akun"


def test_unknown_charset_falls_back_with_a_defect() -> None:
    raw = b"Subject: x\nContent-Type: text/plain; charset=x-klingon\n\nCaf\xe9\n"
    msg = parse(raw)
    assert msg.text == "Café"
    assert any("x-klingon" in defect for defect in msg.defects)


def test_raw_8bit_header_is_decoded() -> None:
    raw = "Subject: Grüße aus Köln\nContent-Type: text/plain; charset=utf-8\n\nx\n".encode()
    assert parse(raw).subject == "Grüße aus Köln"


def test_gb2312_label_on_gbk_bytes_decodes_as_gb18030() -> None:
    body = "镕".encode("gbk")
    raw = b"Subject: x\nContent-Type: text/plain; charset=GB2312\n\n" + body + b"\n"
    assert parse(raw).text == "镕"


def test_html_only_mail_becomes_text() -> None:
    raw = (
        b"Subject: x\nContent-Type: text/html; charset=utf-8\n\n"
        b"<html><body><p>Printer <b>rusak</b></p><script>x()</script></body></html>\n"
    )
    msg = parse(raw)
    assert msg.html
    assert "Printer rusak" in msg.text
    assert "<" not in msg.text


def test_alternative_prefers_plain_text() -> None:
    raw = (
        b'Content-Type: multipart/alternative; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nplain\n"
        b"--b\nContent-Type: text/html\n\n<p>html</p>\n--b--\n"
    )
    msg = parse(raw)
    assert msg.text == "plain"
    assert msg.html


def test_attachments_are_decoded() -> None:
    payload = base64.b64encode(b"%PDF-1.4 data").decode()
    raw = (
        'Content-Type: multipart/mixed; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nlihat lampiran\n"
        "--b\nContent-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=utf-8''laporan%20b%C3%A9.pdf\n"
        f"Content-Transfer-Encoding: base64\n\n{payload}\n--b--\n"
    ).encode()
    msg = parse(raw)
    assert msg.text == "lihat lampiran"
    (attachment,) = msg.attachments
    assert attachment.filename == "laporan bé.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.data == b"%PDF-1.4 data"


def test_forwarded_message_is_an_attachment_not_text() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nsee below\n"
        b"--b\nContent-Type: message/rfc822\n\n"
        b"Subject: inner\nMessage-ID: <inner@x>\n\ninner body\n--b--\n"
    )
    msg = parse(raw)
    assert msg.text == "see below"
    assert msg.attachments[0].content_type == "message/rfc822"
    assert b"inner body" in msg.attachments[0].data


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: truncated\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: te",
        b"Subject: nul\x00s\n\nbody\x00with nul\n",
        b"Subject: long\n\n" + b"a" * 200_000 + b"\n",
        b"Subject: bad b64\nContent-Transfer-Encoding: base64\n\n!!!not base64===\n",
        b"Content-Type: multipart/mixed\n\nno boundary\n",
        b"Subject: x\nContent-Type: message/rfc822\n\n" * 50,
        b"Subject: =?utf-8?b?bad-padding?= =?x?q?y?= =?utf-8?q?=ZZ?=\n\nx\n",
        b'From: "broken@\n\nx\n',
    ],
)
def test_malformed_mail_never_raises(raw: bytes) -> None:
    msg = parse(raw)
    assert isinstance(msg.text, str)


def test_text_before_headers_and_cr_only_line_endings() -> None:
    assert parse(b"---- Original email message ----\nSubject: hi\n\nx\n").subject == "hi"
    assert parse(b"Subject: mac\rFrom: a@b.c\r\rbody\r").from_ == Address("", "a@b.c")


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x02garbage\xff" * 20, b"just some text\n"])
def test_not_a_mail(raw: bytes) -> None:
    assert not looks_like_mail(raw)
    with pytest.raises(NotAMail):
        parse(raw)
