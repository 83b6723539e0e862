"""A whole conversation through the pipeline and the desk, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TEAM_MAILBOX
from tests.integration.desk_harness import Harness
from tests.support import body_text, make_mail, reply_to
from tiket.config import Settings
from tiket.model.db import Database

TECH = "wayan@diskominfo.example"


@pytest.fixture
def desk(db: Database, settings: Settings) -> Iterator[Harness]:
    harness = Harness(db, settings)
    harness.add_technician(TECH)
    yield harness


def test_new_mail_opens_a_ticket_with_ack_and_team_notification(desk: Harness) -> None:
    outcome = desk.deliver(make_mail())
    assert outcome[0].startswith("opened TKT-")
    ticket = desk.ticket()
    assert ticket["status"] == "new"
    assert ticket["category"] == "network"
    assert ticket["team"] == "support"
    assert ticket["channel"] == "email"
    assert ticket["language"] == "id"
    assert ticket["requester"] == {
        "name": "Budi Santoso",
        "email": "budi@dinas.example",
        "phone": None,
        "organisation": "",
    }
    ack, notify = desk.new_mail()
    assert ack["To"] == "budi@dinas.example"
    assert f"[{ticket['number']}]" in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Reply-To"].startswith("helpdesk+" + ticket["number"].lower())
    assert ticket["number"] in body_text(ack)
    assert f"/status/{ticket['number']}" in body_text(ack)
    assert notify["To"] == TEAM_MAILBOX
    assert "wifi" in body_text(notify).lower()
    trace = next(e for e in ticket["events"] if e["kind"] == "opened")["data"]["trace"]
    stages = list(dict.fromkeys(step["stage"] for step in trace))
    assert [s for s in stages if s in {"guard", "thread", "author", "classify", "route"}] == [
        "guard",
        "thread",
        "author",
        "classify",
        "route",
    ]
    hits = [
        step["detail"] for step in trace if step["stage"] == "rule" and step["outcome"] == "hit"
    ]
    assert any(hit.startswith("category network: category=network on wifi") for hit in hits)


def test_english_mail_gets_english_answers(desk: Harness) -> None:
    desk.deliver(
        make_mail(
            subject="Cannot login to the application",
            body="Hello, since this morning we cannot login to the app. Please help.\n",
        )
    )
    ticket = desk.ticket()
    assert ticket["language"] == "en"
    assert ticket["category"] == "application"
    ack, _ = desk.new_mail()
    assert "Request received" in ack["Subject"]


def test_technician_reply_reaches_requester_without_quote(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    _, notify = desk.new_mail()
    outcome = desk.deliver(
        reply_to(
            notify.as_bytes(),
            sender=f"Wayan <{TECH}>",
            body="Sudah kami cek, access point di lantai 2 kami ganti.",
        ),
        rcpts=(str(notify["Reply-To"]),),
    )
    assert outcome == [f"reply on {number}"]
    (answer,) = desk.new_mail()
    assert answer["To"] == "budi@dinas.example"
    text = body_text(answer)
    assert "access point di lantai 2" in text
    assert "Helpdesk wrote" not in text and "> " not in text
    assert answer["Auto-Submitted"] is None  # a person's answer, not an automatic one
    ticket = desk.ticket(number)
    assert ticket["status"] == "open"
    assert ticket["first_response_at"] is not None
    reply = ticket["entries"][-1]
    assert (reply["kind"], reply["direction"], reply["author"]) == ("reply", "out", TECH)


def test_note_stays_internal_and_close_command_closes(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    _, notify = desk.new_mail()
    desk.deliver(reply_to(notify.as_bytes(), sender=TECH, body="#note\nPerlu ganti kabel LAN."))
    assert desk.new_mail() == []  # nothing to the requester
    assert desk.ticket(number)["entries"][-1]["kind"] == "note"
    desk.deliver(reply_to(notify.as_bytes(), sender=TECH, body="Sudah beres ya.\n#close"))
    ticket = desk.ticket(number)
    assert ticket["status"] == "closed"
    assert ticket["closed_at"] is not None
    reply, closed, survey = desk.new_mail()
    assert "Sudah beres ya." in body_text(reply) and "#close" not in body_text(reply)
    assert "ditutup" in closed["Subject"]
    assert "/survey/" in body_text(survey)  # the satisfaction survey follows the closing


def test_requester_reply_joins_and_close_keyword_closes(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    ack, _ = desk.new_mail()
    desk.deliver(
        reply_to(
            ack.as_bytes(),
            sender="budi@dinas.example",
            body="Tambahan: yang mati hanya di lantai 2.",
        )
    )
    (team_update,) = desk.new_mail()
    assert team_update["To"] == TEAM_MAILBOX
    assert "lantai 2" in body_text(team_update)
    assert desk.ticket(number)["entries"][-1]["body"] == "Tambahan: yang mati hanya di lantai 2."
    desk.deliver(
        reply_to(ack.as_bytes(), sender="budi@dinas.example", body="Selesai, terima kasih!")
    )
    assert desk.ticket(number)["status"] == "closed"
    confirm, survey, team_closed = desk.new_mail()
    assert confirm["To"] == "budi@dinas.example" and "ditutup" in confirm["Subject"]
    assert survey["To"] == "budi@dinas.example" and "/survey/" in body_text(survey)
    assert team_closed["To"] == TEAM_MAILBOX


def test_reply_to_closed_ticket_reopens_it(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    ack, _ = desk.new_mail()
    desk.deliver(reply_to(ack.as_bytes(), sender="budi@dinas.example", body="selesai"))
    desk.deliver(reply_to(ack.as_bytes(), sender="budi@dinas.example", body="Mati lagi pagi ini."))
    assert desk.ticket(number)["status"] == "open"
    assert desk.ticket_count() == 1


def test_threading_by_subject_tag_and_references(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    desk.new_mail()
    desk.deliver(make_mail(subject=f"Re: [{number}] wifi", body="Masih mati."))
    first = make_mail(subject="printer", body="Printer di ruang rapat macet", message_id="<p1@x>")
    desk.deliver(first)
    desk.deliver(make_mail(subject="lagi", body="Tambahan info", in_reply_to="<p1@x>"))
    assert desk.ticket_count() == 2
    assert len(desk.ticket(number)["entries"]) == 2


def test_spoofed_technician_without_authenticated_thread_runs_nothing(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    desk.new_mail()
    # Knows the ticket number, not our Message-IDs or the signed address.
    desk.deliver(make_mail(sender=TECH, subject=f"Re: [{number}]", body="#close\nTutup saja."))
    ticket = desk.ticket(number)
    assert ticket["status"] == "new"
    assert ticket["entries"][-1]["kind"] == "note"
    (explanation,) = desk.new_mail()  # only the technician hears about it
    assert explanation["To"] == TECH
    assert "#close" in body_text(explanation)


def test_forged_signed_address_is_not_trusted(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    desk.new_mail()
    forged = f"helpdesk+{number.lower()}.aaaaaaaaaa@tiket.test"
    desk.deliver(make_mail(sender=TECH, to=forged, subject="x", body="#close"), rcpts=(forged,))
    assert desk.ticket(number)["status"] == "new"


def test_auto_reply_joins_its_ticket_and_is_not_answered(desk: Harness) -> None:
    desk.deliver(make_mail())
    number = desk.ticket()["number"]
    ack, _ = desk.new_mail()
    vacation = make_mail(
        sender="budi@dinas.example",
        subject="Out of Office: " + str(ack["Subject"]),
        body="Saya sedang cuti sampai Senin.",
        in_reply_to=str(ack["Message-ID"]),
        headers={"Auto-Submitted": "auto-replied"},
    )
    outcome = desk.deliver(vacation)
    assert outcome == [f"automatic mail joined {number}, not answered"]
    assert desk.new_mail() == []
    assert desk.ticket(number)["entries"][-1]["auto_reason"]


def test_auto_reply_without_ticket_is_discarded_not_ticketed(desk: Harness) -> None:
    outcome = desk.deliver(
        make_mail(
            subject="Automatic reply: rapat",
            body="Saya cuti.",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    assert outcome[0].startswith("discarded: automatic mail")
    assert desk.ticket_count() == 0
    assert desk.new_mail() == []
    assert desk.inbound()[0].state == "discarded"


def test_list_mail_without_ticket_is_not_answered(desk: Harness) -> None:
    desk.deliver(
        make_mail(subject="Newsletter", headers={"Precedence": "bulk", "List-Id": "<n.x>"})
    )
    assert desk.new_mail() == []


def test_bounce_joins_the_ticket_it_bounced_from(desk: Harness) -> None:
    desk.deliver(make_mail(sender="nobody@dinas.example"))
    number = desk.ticket()["number"]
    ack, _ = desk.new_mail()
    dsn = _bounce_for(ack.as_bytes(), "nobody@dinas.example")
    outcome = desk.deliver(dsn)
    assert outcome == [f"automatic mail joined {number}, not answered"]
    assert desk.new_mail() == []
    event = [e for e in desk.ticket(number)["events"] if e["kind"] == "automatic"][-1]
    assert event["data"]["bounced"] == ["nobody@dinas.example"]


def test_mail_from_ourselves_is_never_answered(desk: Harness) -> None:
    desk.deliver(make_mail(sender="helpdesk@tiket.test", subject="loop?"))
    assert desk.ticket_count() == 0
    assert desk.new_mail() == []


def test_same_message_twice_makes_one_entry(desk: Harness) -> None:
    raw = make_mail()
    desk.deliver(raw)
    relayed = b"Received: from relay2.example by mx\r\n" + raw
    desk.deliver(relayed)
    assert desk.ticket_count() == 1
    assert len(desk.ticket()["entries"]) == 1
    assert len(desk.inbound()) == 1


def test_a_message_that_fails_is_quarantined_then_retried(desk: Harness) -> None:
    # No sender address at all: nothing to answer, so it cannot become a ticket.
    raw = b"Subject: no sender\r\nMessage-ID: <nosender@x>\r\n\r\nhalo\r\n"
    outcome = desk.deliver(raw)
    assert outcome[0].startswith("quarantined: ")
    (row,) = desk.inbound()
    assert row.state == "failed" and row.error and "sender" in row.error
    assert desk.ticket_count() == 0


def _bounce_for(original: bytes, recipient: str) -> bytes:
    head = original.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n")
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.dinas.example>\n"
        b"To: helpdesk@tiket.test\n"
        b"Subject: Undelivered Mail Returned to Sender\n"
        b"Message-ID: <bounce1@mx.dinas.example>\n"
        b"Auto-Submitted: auto-replied\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        b"--B\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.dinas.example\n\n"
        b"Final-Recipient: rfc822; " + recipient.encode() + b"\n"
        b"Action: failed\nStatus: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n"
        b"--B\nContent-Type: text/rfc822-headers\n\n" + head + b"\n\n--B--\n"
    )
