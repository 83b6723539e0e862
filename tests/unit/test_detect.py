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


# --- hard means "the address itself is bad" (sisimai's meaning) -------------------------------


def _dsn(status: str, diagnostic: str = "", action: str = "failed", text: str = "") -> bytes:
    fields = f"Final-Recipient: rfc822; nobody@example.go.id\nAction: {action}\nStatus: {status}\n"
    if diagnostic:
        fields += f"Diagnostic-Code: smtp; {diagnostic}\n"
    old = "Final-Recipient: rfc822; Nobody@Example.go.id\nAction: failed\nStatus: 5.1.1\n"
    raw = DSN.replace(old.encode(), fields.encode())
    return raw.replace(b"I'm sorry to have to inform you...", text.encode() or b"Sorry.")


@pytest.mark.parametrize(
    ("status", "diagnostic"),
    [
        ("5.1.1", "550 5.1.1 <nobody@example.go.id>: Recipient address rejected: User unknown"),
        ("5.1.1", ""),
        ("5.0.0", "550 No such user here"),
        ("5.0.0", "550 Requested action not taken: mailbox unavailable"),
        ("5.1.2", "Host or domain name not found. Name service error for name=example.go.id"),
        ("5.4.4", ""),
        ("5.1.6", "551 not our customer"),
        ("5.5.0", "550 5.5.0 Invalid recipient"),
        ("5.0.0", "The email account that you tried to reach does not exist."),
    ],
)
def test_bad_address_is_hard(status: str, diagnostic: str) -> None:
    found = bounce(parse(_dsn(status, diagnostic)))
    assert found is not None
    assert found.hard


@pytest.mark.parametrize(
    ("status", "diagnostic"),
    [
        ("5.2.2", "552 5.2.2 Mailbox full"),
        ("5.2.2", ""),
        ("5.0.0", "552 Requested mail action aborted: exceeded storage allocation (quota)"),
        ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering"),
        ("5.7.1", "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org"),
        ("5.7.26", "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy"),
        ("5.3.4", "552 5.3.4 Message size exceeds fixed maximum message size"),
        ("5.0.0", "421 Too many connections, try again later"),
        ("5.0.0", "550 Account disabled"),
        ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled"),
        ("5.0.0", "554 rejected"),
        ("4.4.7", "Delivery time expired"),
    ],
)
def test_policy_full_and_temporary_failures_are_soft(status: str, diagnostic: str) -> None:
    found = bounce(parse(_dsn(status, diagnostic)))
    assert found is not None
    assert not found.hard


def test_user_unknown_after_data_is_a_content_filter() -> None:
    raw = _dsn(
        "5.0.0",
        "",
        text="<nobody@example.go.id>: host mx[192.0.2.1] said: 550 Unknown user nobody "
        "(in reply to end of DATA command)",
    )
    found = bounce(parse(raw))
    assert found is not None
    assert not found.hard


def test_plain_text_bounce_without_a_reason_is_soft() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.com\nTo: helpdesk@example.go.id\n"
        b"Subject: failure notice\n\n"
        b"I wasn't able to deliver your message to the following addresses.\n\n"
        b"<lost@example.com>:\n\n--- Below this line is a copy of the message.\n"
    )
    found = bounce(parse(raw))
    assert found is not None
    assert found.recipients == ("lost@example.com",)
    assert not found.hard


def test_original_recipient_is_preferred() -> None:
    raw = DSN.replace(
        b"Final-Recipient: rfc822; Nobody@Example.go.id\n",
        b"Original-Recipient: rfc822; budi@example.go.id\n"
        b"Final-Recipient: rfc822; budi.santoso@mail.example.go.id\n",
    )
    found = bounce(parse(raw))
    assert found is not None
    assert found.recipients == ("budi@example.go.id",)


def test_success_only_report_is_not_a_bounce() -> None:
    raw = _dsn("2.1.5", "250 2.1.5 Ok", action="delivered")
    assert bounce(parse(raw)) is None


def test_challenge_response_is_not_a_bounce() -> None:
    raw = _dsn("4.7.0", "Sender not pre-approved.  Follow instructions in above notice")
    assert bounce(parse(raw)) is None


def test_text_bounce_recipients_leave_out_the_returned_headers() -> None:
    raw = (
        b"From: postmaster@example.com\nTo: helpdesk@example.go.id\n"
        b"Subject: Undeliverable: [TKT-3] VPN\n\n"
        b"Your message\n\n  To: 'someone@example.com'\n  Cc: list@example.com\n"
        b"  Subject: [TKT-3] VPN client 2.0.12\n\ndid not reach the following recipient(s):\n\n"
        b"someone@example.com on 1 Mar 2025\n    The recipient name is not recognized\n"
    )
    found = bounce(parse(raw))
    assert found is not None
    assert found.recipients == ("someone@example.com",)
    assert found.hard


def test_indonesian_out_of_office_is_not_a_bounce() -> None:
    raw = (
        b"From: Budi <budi@example.go.id>\nSubject: Balasan otomatis: Printer\n"
        b"Auto-Submitted: auto-replied\n\n"
        b"Saya sedang cuti sampai 10 Maret. Pesan Anda tidak dapat saya balas.\n"
    )
    msg = parse(raw)
    assert bounce(msg) is None
    assert auto_reply_reason(msg) is not None
