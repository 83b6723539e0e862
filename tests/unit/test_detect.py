"""auto_reply_reason() and bounce() over small hand-written mails."""

from __future__ import annotations

import pytest

from tiket.inbound.parse import parse
from tiket.rules.detect import auto_reply_reason, bounce

PERSON = b"From: Budi <budi@example.go.id>\nSubject: Printer rusak\n\nTolong dicek.\n"

DSN = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.go.id>\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
    b"--b\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n"
    b"--b\nContent-Type: message/delivery-status\n\n"
    b"Reporting-MTA: dns; mx.example.go.id\n\n"
    b"Final-Recipient: rfc822; Nobody@Example.go.id\nAction: failed\nStatus: 5.1.1\n"
    b"--b\nContent-Type: message/rfc822\n\n"
    b"Message-ID: <tkt-42@helpdesk>\nSubject: [TKT-42] Printer\n\nbody\n--b--\n"
)


def test_a_person_is_not_automatic() -> None:
    msg = parse(PERSON)
    assert auto_reply_reason(msg) is None
    assert bounce(msg) is None


@pytest.mark.parametrize(
    "header",
    [
        b"Auto-Submitted: auto-replied",
        b"Precedence: bulk",
        b"List-Id: <it.example.go.id>",
        b"X-Auto-Response-Suppress: OOF",
        b"X-Autoreply: yes",
        b"Return-Path: <>",
    ],
)
def test_automatic_headers(header: bytes) -> None:
    assert auto_reply_reason(parse(header + b"\n" + PERSON)) is not None


def test_auto_submitted_no_is_a_person() -> None:
    assert auto_reply_reason(parse(b"Auto-Submitted: no\n" + PERSON)) is None


@pytest.mark.parametrize(
    "subject",
    [b"Out of Office: Printer", b"Automatic reply: x", b"Balasan otomatis: x", b"Sedang cuti"],
)
def test_out_of_office_subjects(subject: bytes) -> None:
    raw = b"From: a@b.id\nSubject: " + subject + b"\n\nSaya sedang cuti.\n"
    assert auto_reply_reason(parse(raw)) is not None


def test_dsn_bounce() -> None:
    msg = parse(DSN)
    found = bounce(msg)
    assert found is not None
    assert found.hard
    assert found.recipients == ("nobody@example.go.id",)
    assert found.original_message_id == "<tkt-42@helpdesk>"
    assert found.original_subject == "[TKT-42] Printer"
    assert auto_reply_reason(msg) is not None


def test_delay_is_soft() -> None:
    raw = DSN.replace(b"Action: failed\nStatus: 5.1.1", b"Action: delayed\nStatus: 4.4.1")
    found = bounce(parse(raw))
    assert found is not None
    assert not found.hard


def test_plain_text_bounce_from_mailer_daemon() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.com\nTo: helpdesk@example.go.id\n"
        b"Subject: failure notice\n\n"
        b"Sorry, we were unable to deliver your message to the following address.\n\n"
        b"<lost@example.com>:\n550 5.1.1 user unknown\n\n"
        b"--- Below this line is a copy of the message.\n\n"
        b"Message-ID: <tkt-7@helpdesk>\nSubject: hi\n"
    )
    found = bounce(parse(raw))
    assert found is not None
    assert found.recipients == ("lost@example.com",)
    assert found.hard
    assert found.original_message_id == "<tkt-7@helpdesk>"


def test_vacation_reply_is_not_a_bounce() -> None:
    raw = b"From: a@b.com\nSubject: Out of Office\nAuto-Submitted: auto-replied\n\nAway.\n"
    assert bounce(parse(raw)) is None
