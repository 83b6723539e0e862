"""Large base64 bodies decoded from the raw bytes give exactly what the stdlib parser gives."""

from __future__ import annotations

import base64
import hashlib
import os
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import pytest

from tiket.inbound.largeparts import LARGE, LargePartMessage, parse_bytes
from tiket.inbound.parse import parse

BLOB = b"%PDF-1.4\n" + os.urandom(2 * LARGE) + b"\n%%EOF\n"


def mail_with(data: bytes, *, filename: str = "scan.pdf") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@dinas.example", "helpdesk@tiket.test", "scan"
    msg["Message-ID"] = "<big@dinas.example>"
    msg.set_content("Hasil scan terlampir.")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return msg


def digest(data: object) -> str:
    """Compare big values by digest: pytest's diff of two 3 MB values takes minutes."""
    return hashlib.sha256(data if isinstance(data, bytes) else repr(data).encode()).hexdigest()


def stdlib(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=policy.compat32)


def assert_same_tree(raw: bytes) -> Message:
    """Every part decodes and serialises as the stdlib's own parse of `raw` does."""
    ours, theirs = parse_bytes(raw), stdlib(raw)
    assert digest(ours.as_bytes()) == digest(theirs.as_bytes())
    assert digest(ours.as_string()) == digest(theirs.as_string())
    pairs = list(zip(ours.walk(), theirs.walk(), strict=True))
    for mine, reference in pairs:
        assert mine.get_content_type() == reference.get_content_type()
        if not mine.is_multipart():
            assert digest(mine.get_payload(decode=True)) == digest(
                reference.get_payload(decode=True)
            )
        assert [type(d) for d in mine.defects] == [type(d) for d in reference.defects]
    return ours


def test_a_large_attachment_is_decoded_from_the_raw_bytes() -> None:
    raw = mail_with(BLOB).as_bytes(policy=policy.SMTP)
    ours = assert_same_tree(raw)
    assert any(getattr(part, "large", None) for part in ours.walk())  # the fast path was taken
    parsed = parse(raw)
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("scan.pdf", "application/pdf")
    ]
    assert digest(parsed.attachments[0].data) == digest(BLOB)
    assert parsed.text == "Hasil scan terlampir."


@pytest.mark.parametrize("linesep", ["\n", "\r\n"])
def test_line_endings_and_a_body_that_is_the_whole_message(linesep: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@dinas.example", "only a file"
    msg.set_content(BLOB[:-1], maintype="application", subtype="octet-stream")
    raw = msg.as_bytes(policy=policy.default.clone(linesep=linesep))
    ours = assert_same_tree(raw)
    assert isinstance(ours, LargePartMessage) and ours.large is not None
    assert digest(parse(raw).attachments[0].data) == digest(BLOB[:-1])


def test_an_embedded_message_with_a_large_attachment_serialises_exactly() -> None:
    outer = EmailMessage()
    outer["From"], outer["Subject"] = "b@dinas.example", "Fwd: scan"
    outer.set_content("see the forwarded mail")
    outer.add_attachment(mail_with(BLOB))
    raw = outer.as_bytes(policy=policy.SMTP)
    ours = assert_same_tree(raw)
    assert any(getattr(part, "large", None) for part in ours.walk())
    forwarded = [a for a in parse(raw).attachments if a.content_type == "message/rfc822"]
    assert len(forwarded) == 1
    inner = stdlib(forwarded[0].data)
    found = [p.get_payload(decode=True) for p in inner.walk() if p.get_filename()]
    assert [digest(data) for data in found] == [digest(BLOB)]


def test_base64_looking_text_that_is_not_base64_stays_text() -> None:
    lines = b"\r\n".join([b"ABCDEFGHIJ" * 7] * (LARGE // 60)) + b"\r\n"
    raw = (
        b"From: a@dinas.example\r\nSubject: log\r\nContent-Type: text/plain\r\n\r\n"
        + b"Log follows:\r\n\r\n"
        + lines
    )
    assert_same_tree(raw)
    assert parse(raw).text.startswith("Log follows:\n\nABCDEFGHIJ")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b64: b64[:1000] + b"=" + b64[1001:], id="padding-in-the-middle"),
        pytest.param(lambda b64: b64[:-3], id="missing-padding"),
        pytest.param(lambda b64: b64 + b"\r\n\r\n" + b64, id="two-runs-in-one-part"),
    ],
)
def test_damaged_base64_decodes_as_the_stdlib_decodes_it(damage: object) -> None:
    encoded = base64.encodebytes(BLOB).replace(b"\n", b"\r\n").rstrip(b"\r\n")
    assert callable(damage)
    raw = (
        b"From: a@dinas.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="x.pdf"\r\n\r\n'
        + damage(encoded)
        + b"\r\n--b--\r\n"
    )
    assert_same_tree(raw)


def test_small_mail_takes_the_stdlib_path_unchanged() -> None:
    raw = mail_with(b"%PDF-1.4 small").as_bytes(policy=policy.SMTP)
    assert type(parse_bytes(raw)) is Message
