"""SMS and WhatsApp end to end: signed webhooks into the running daemon, texts out through the
real twilio client to a local fake of Twilio's API, technicians answering by SMTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import TEAM_MAILBOX, free_port
from tests.support import reply_to, send, wait_for
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Sent, signed, sms_form
from tiket.config import HttpSettings, ImapSettings, Settings, TwilioSettings
from tiket.gateway.daemon import Daemon
from tiket.model import (
    Attachment,
    Entry,
    Event,
    InboundMessage,
    OutboxMessage,
    Requester,
    Team,
    Technician,
    TextOptOut,
    Ticket,
)
from tiket.model.db import Database

OUR_NUMBER = "+15550001111"
PHONE = "+6281234560001"
TECH = "wayan@diskominfo.example"


class Running:
    """The daemon serving in a thread of this process, stopped through its stop event."""

    def __init__(self, settings: Settings) -> None:
        self.daemon = Daemon(settings)
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.daemon.run(self.stop_event))
        except BaseException as exc:  # surfaced to the test in start() or stop()
            self.error = exc
        finally:
            self.loop.close()

    def start(self, base_url: str) -> None:
        self.thread.start()

        def up() -> bool:
            if self.error:
                raise self.error
            try:
                return httpx.get(f"{base_url}/healthz", timeout=2).status_code in (200, 503)
            except httpx.HTTPError:
                return False

        wait_for(up, what="the daemon's HTTP listener")

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(20)
        assert not self.thread.is_alive(), "daemon did not stop"
        if self.error:
            raise self.error


@dataclass
class Helpdesk:
    settings: Settings
    db: Database
    twilio: FakeTwilio
    url: str
    smtp_port: int

    def post(
        self, path: str, fields: dict[str, str], *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        if headers is None:
            headers = signed(self.url + path, fields)
        return httpx.post(self.url + path, data=fields, headers=headers, timeout=10)

    def text(self, sender: str, body: str, **extra: str) -> dict[str, str]:
        """Send a signed inbound text; wait until the daemon has processed it."""
        form = sms_form(sender, body, to=OUR_NUMBER, **extra)
        answer = self.post("/twilio/sms", form)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/xml")
        assert "<Response" in answer.text
        self.processed(form["MessageSid"])
        return form

    def processed(self, sid: str) -> None:
        def done() -> bool:
            with self.db.session() as session:
                state = session.scalar(
                    select(InboundMessage.state).where(
                        InboundMessage.idempotency_key == f"twilio:{sid}"
                    )
                )
            return state is not None and state != "queued"

        wait_for(done, what=f"inbound {sid} processed")

    def texts_to(self, address: str, count: int) -> list[Sent]:
        """Wait for at least `count` texts to this address at the fake Twilio; all of them."""

        def arrived() -> list[Sent]:
            sent = self.twilio.to(address)
            return sent if len(sent) >= count else []

        return wait_for(arrived, what=f"{count} text(s) to {address}")

    def tickets(self) -> list[Ticket]:
        with self.db.session() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))

    def outbox(self, **where: Any) -> list[OutboxMessage]:
        with self.db.session() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            for key, value in where.items():
                query = query.where(getattr(OutboxMessage, key) == value)
            return list(session.scalars(query))

    def technician_mail(self, number: str, body: str) -> None:
        """The technician answers the team's new-ticket mail from their mail client."""
        with self.db.session() as session:
            payload = session.scalar(
                select(OutboxMessage.payload)
                .join(Ticket, Ticket.id == OutboxMessage.ticket_id)
                .where(Ticket.number == number, OutboxMessage.kind == "team_new")
            )
        assert payload is not None, f"no team mail for {number}"
        raw = reply_to(payload, sender=f"Wayan <{TECH}>", body=body)
        to = str(email.message_from_bytes(raw, policy=email.policy.default)["To"])
        send(self.smtp_port, raw, sender=TECH, rcpts=(to,))


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def live_settings(settings: Settings, twilio: FakeTwilio, **twilio_changes: Any) -> Settings:
    http_port, smtp_port = free_port(), free_port()
    return replace(
        settings,
        smtp=replace(settings.smtp, listen=f"127.0.0.1:{smtp_port}"),
        http=HttpSettings(
            listen=f"127.0.0.1:{http_port}", public_url=f"http://127.0.0.1:{http_port}"
        ),
        twilio=TwilioSettings(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            sms_from=OUR_NUMBER,
            whatsapp_from=f"whatsapp:{OUR_NUMBER}",
            api_base=twilio.url,
            **twilio_changes,
        ),
        worker=replace(settings.worker, poll_seconds=0.05),
        outbound=replace(settings.outbound, retry_base_seconds=0.1, retry_max_seconds=0.3),
    )


@pytest.fixture
def helpdesk(settings: Settings, db: Database, twilio: FakeTwilio) -> Iterator[Helpdesk]:
    live = live_settings(settings, twilio)
    with db.session() as session:
        team = session.scalar(select(Team).where(Team.name == "support"))
        assert team is not None
        session.add(Technician(email=TECH, name="Wayan", teams=[team]))
    running = Running(live)
    url = live.http.public_url
    running.start(url)
    try:
        yield Helpdesk(live, db, twilio, url, int(live.smtp.listen.rpartition(":")[2]))
    finally:
        running.stop()


def test_a_ticket_opened_answered_and_closed_by_sms(helpdesk: Helpdesk) -> None:
    helpdesk.text(PHONE, "CCTV di kantor desa mati, tidak merekam sejak kemarin")
    [ticket] = helpdesk.tickets()
    assert ticket.channel == "sms"
    with helpdesk.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.requester.phone == PHONE
        assert ticket.category is not None and ticket.category.slug == "cctv"
    [ack] = helpdesk.texts_to(PHONE, 1)
    assert ack.authorised and ack.fields["From"] == OUR_NUMBER
    assert ticket.number in ack.body and f"/status/{ticket.number}" in ack.body
    assert ack.fields["StatusCallback"] == helpdesk.url + "/twilio/status"

    # The technician answers from mail; the requester gets it by SMS.
    helpdesk.technician_mail(ticket.number, "Kamera sudah kami nyalakan ulang, silakan dicek.")
    reply = helpdesk.texts_to(PHONE, 2)[1]
    assert "Kamera sudah kami nyalakan ulang" in reply.body and ticket.number in reply.body

    # Twilio reports the delivery; the outbox row follows.
    answer = helpdesk.post(
        "/twilio/status", {"MessageSid": reply.sid, "MessageStatus": "delivered", "To": PHONE}
    )
    assert answer.status_code == 200
    [row] = helpdesk.outbox(provider_id=reply.sid)
    assert row.state == "sent" and row.delivery_status == "delivered"
    # A late "sent" after "delivered" does not move it back.
    helpdesk.post("/twilio/status", {"MessageSid": reply.sid, "MessageStatus": "sent"})
    assert helpdesk.outbox(provider_id=reply.sid)[0].delivery_status == "delivered"

    # The requester closes by text.
    helpdesk.text(PHONE, "Selesai, terima kasih")
    assert helpdesk.tickets()[0].status == "closed"
    closed = helpdesk.texts_to(PHONE, 3)[2]
    assert ticket.number in closed.body and "ditutup" in closed.body


def test_a_reply_by_whatsapp_joins_the_ticket_and_is_answered_by_whatsapp(
    helpdesk: Helpdesk,
) -> None:
    helpdesk.text(PHONE, "Internet di kantor kecamatan putus")
    [ticket] = helpdesk.tickets()
    helpdesk.texts_to(PHONE, 1)
    wa = f"whatsapp:{PHONE}"
    helpdesk.text(wa, "Ini foto modemnya, lampu merah menyala", ProfileName="Budi")
    assert len(helpdesk.tickets()) == 1
    with helpdesk.db.session() as session:
        channels = session.scalars(
            select(Entry.channel).where(Entry.ticket_id == ticket.id, Entry.direction == "in")
        ).all()
    assert channels == ["sms", "whatsapp"]
    helpdesk.technician_mail(ticket.number, "Teknisi kami datang jam 2 siang.")
    [answer] = helpdesk.texts_to(wa, 1)
    assert answer.fields["From"] == f"whatsapp:{OUR_NUMBER}"
    assert "jam 2 siang" in answer.body  # inside the 24-hour window: free-form Body


def test_several_open_tickets_newest_wins_and_the_answer_lists_the_others(
    helpdesk: Helpdesk,
) -> None:
    helpdesk.text(PHONE, "Email dinas tidak bisa kirim")
    helpdesk.text(PHONE, "Website desa tidak bisa dibuka")
    assert len(helpdesk.tickets()) == 1  # the second joined the single open ticket
    first = helpdesk.tickets()[0]
    with helpdesk.db.session() as session:
        requester = session.scalars(select(Requester)).one()
        second = Ticket(
            number="TKT-ZZZZ-0001", subject="second", channel="sms", requester_id=requester.id
        )
        session.add(second)
    helpdesk.text(PHONE, "Ada kabar?")
    others = helpdesk.texts_to(PHONE, 2)[1]
    assert "TKT-ZZZZ-0001" in others.body and first.number in others.body
    # A number in the text picks that ticket, when it is this phone's.
    helpdesk.text(PHONE, f"{first.number} masih error")
    with helpdesk.db.session() as session:
        last = session.scalars(select(Entry).order_by(Entry.id.desc())).first()
        assert last is not None and last.ticket.number == first.number
    # Someone else's ticket number does not attach their text to it.
    helpdesk.text("+6289999999999", f"{first.number} saya juga")
    assert len(helpdesk.tickets()) == 3


def test_forged_unsigned_and_malformed_webhooks_store_nothing(helpdesk: Helpdesk) -> None:
    form = sms_form(PHONE, "CCTV mati", to=OUR_NUMBER)
    url = helpdesk.url + "/twilio/sms"
    cases = {
        "unsigned": {},
        "forged": {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        "wrong token": signed(url, form, token="someone-elses-token"),
        "other URL": signed("https://evil.example/twilio/sms", form),
        "tampered body": signed(url, {**form, "Body": "something else"}),
    }
    for name, headers in cases.items():
        answer = helpdesk.post("/twilio/sms", form, headers=headers)
        assert answer.status_code == 403, name
        status = helpdesk.post(
            "/twilio/status", {"MessageSid": "SMx", "MessageStatus": "failed"}, headers=headers
        )
        assert status.status_code == 403, name
    malformed = [
        {k: v for k, v in form.items() if k != "MessageSid"},
        {k: v for k, v in form.items() if k != "From"},
        {**form, "NumMedia": "many"},
    ]
    for fields in malformed:
        assert helpdesk.post("/twilio/sms", fields).status_code == 400, fields
    assert helpdesk.post("/twilio/status", {"MessageSid": "SMx"}).status_code == 400
    assert helpdesk.post("/twilio/sms", {**form, "Body": "x" * 70_000}).status_code == 413
    with helpdesk.db.session() as session:
        assert session.scalar(select(func.count(InboundMessage.id))) == 0
    assert helpdesk.tickets() == []


def test_a_replayed_message_sid_is_one_message(helpdesk: Helpdesk) -> None:
    form = helpdesk.text(PHONE, "Server aplikasi kepegawaian down")
    again = helpdesk.post("/twilio/sms", form)
    assert again.status_code == 200 and "<Response" in again.text
    with helpdesk.db.session() as session:
        assert session.scalar(select(func.count(InboundMessage.id))) == 1
        assert session.scalar(select(func.count(Entry.id))) == 1
    assert len(helpdesk.tickets()) == 1
    helpdesk.texts_to(PHONE, 1)
    assert len(helpdesk.outbox(channel="sms")) == 1


def test_stop_opts_out_start_opts_in_help_answers(helpdesk: Helpdesk) -> None:
    helpdesk.text(PHONE, "Aplikasi absensi error terus")
    [ticket] = helpdesk.tickets()
    helpdesk.texts_to(PHONE, 1)
    helpdesk.text(PHONE, "BERHENTI")
    confirmation = helpdesk.texts_to(PHONE, 2)[1]
    assert "START" in confirmation.body
    with helpdesk.db.session() as session:
        assert session.get(TextOptOut, PHONE) is not None
    helpdesk.technician_mail(ticket.number, "Sudah kami perbaiki.")
    wait_for(lambda: _events(helpdesk, "text_not_sent"), what="the refused text recorded")
    assert len(helpdesk.twilio.to(PHONE)) == 2  # nothing more went to an opted-out number
    helpdesk.text(PHONE, "help")
    assert "TKT" in helpdesk.texts_to(PHONE, 3)[2].body
    helpdesk.text(PHONE, "START")
    helpdesk.texts_to(PHONE, 4)
    with helpdesk.db.session() as session:
        assert session.get(TextOptOut, PHONE) is None
    assert len(helpdesk.tickets()) == 1  # keywords open no tickets


def test_twilio_opt_out_error_21610_opts_the_number_out(helpdesk: Helpdesk) -> None:
    helpdesk.twilio.errors[PHONE] = (400, 21610, "Attempt to send to unsubscribed recipient")
    helpdesk.text(PHONE, "Wifi kantor lambat sekali")
    wait_for(lambda: helpdesk.outbox(channel="sms", state="failed"), what="the refused text failed")
    with helpdesk.db.session() as session:
        row = session.get(TextOptOut, PHONE)
        assert row is not None and row.source == "twilio-21610"
    [failed] = helpdesk.outbox(channel="sms")
    assert failed.last_error is not None and "21610" in failed.last_error


def test_an_undelivered_text_falls_back_to_email(helpdesk: Helpdesk) -> None:
    with helpdesk.db.session() as session:
        session.add(Requester(phone=PHONE, email="budi@dinas.example", name="Budi"))
    helpdesk.text(PHONE, "Printer jaringan tidak terdeteksi")
    [ack] = helpdesk.texts_to(PHONE, 1)
    answer = helpdesk.post(
        "/twilio/status",
        {"MessageSid": ack.sid, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    assert answer.status_code == 200
    [row] = helpdesk.outbox(provider_id=ack.sid)
    assert (row.state, row.delivery_status, row.delivery_error) == (
        "failed",
        "undelivered",
        "30003",
    )
    mails = wait_for(
        lambda: (
            [r for r in helpdesk.outbox(channel="email") if r.state == "sent"]
            and helpdesk.outbox(kind="text_fallback")
        ),
        what="the fallback mail sent",
    )
    assert mails[0].recipient == "budi@dinas.example"
    assert helpdesk.tickets()[0].number in mails[0].body and ack.body in mails[0].body
    # The same report again changes nothing and mails nobody twice.
    helpdesk.post("/twilio/status", {"MessageSid": ack.sid, "MessageStatus": "undelivered"})
    assert len(helpdesk.outbox(kind="text_fallback")) == 1


def test_twilio_down_the_outbox_retries_and_loses_nothing(helpdesk: Helpdesk) -> None:
    helpdesk.twilio.down = True
    helpdesk.text(PHONE, "Jaringan wifi kantor mati")
    wait_for(lambda: helpdesk.twilio.refused >= 2, what="a retried text")
    [row] = helpdesk.outbox(channel="sms")
    assert row.state != "sent" and "503" in (row.last_error or "")
    helpdesk.twilio.down = False
    wait_for(lambda: helpdesk.outbox(channel="sms", state="sent"), what="the text sent")
    assert len(helpdesk.twilio.to(PHONE)) == 1 and helpdesk.twilio.refused >= 2


def test_media_are_stored_as_attachments_within_the_size_limit(
    settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    live = live_settings(settings, twilio, max_media_bytes=50_000)
    running = Running(live)
    running.start(live.http.public_url)
    desk = Helpdesk(live, db, twilio, live.http.public_url, 0)
    try:
        twilio.media["/media/one"] = ("image/jpeg", b"\xff\xd8" + b"j" * 1000)
        twilio.media["/media/big"] = ("image/png", b"p" * 60_000)
        desk.text(
            f"whatsapp:{PHONE}",
            "Kamera CCTV buram",
            NumMedia="3",
            MediaUrl0=twilio.url + "/media/one",
            MediaContentType0="image/jpeg",
            MediaUrl1=twilio.url + "/media/big",
            MediaContentType1="image/png",
            MediaUrl2=twilio.url + "/media/gone",
            MediaContentType2="image/png",
        )
        with db.session() as session:
            [attachment] = session.scalars(select(Attachment)).all()
            assert (attachment.content_type, attachment.size) == ("image/jpeg", 1002)
            assert attachment.filename.endswith(".jpg")
            entry = session.scalars(select(Entry)).one()
            assert "too large" in entry.body and "HTTP 404" in entry.body
    finally:
        running.stop()


def test_technicians_start_a_text_by_mail(helpdesk: Helpdesk) -> None:
    helpdesk.text(PHONE, "Domain website dinas kadaluarsa")
    [ticket] = helpdesk.tickets()
    helpdesk.texts_to(PHONE, 1)
    helpdesk.technician_mail(ticket.number, "#sms Mohon kirim nama domainnya.\n")
    text = helpdesk.texts_to(PHONE, 2)[1]
    assert "Mohon kirim nama domainnya." in text.body
    assert len(helpdesk.twilio.to(PHONE)) == 2  # the command line is not sent twice


def test_healthz_and_metrics(helpdesk: Helpdesk) -> None:
    helpdesk.text(PHONE, "Aplikasi SIMPEG error")
    health = httpx.get(helpdesk.url + "/healthz", timeout=5)
    assert health.status_code == 200
    checks = health.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["worker:processor"] == "ok" and checks["worker:text-deliverer"] == "ok"
    helpdesk.texts_to(PHONE, 1)
    wait_for(lambda: helpdesk.outbox(channel="sms", state="sent"), what="the ack sent")
    metrics = httpx.get(helpdesk.url + "/metrics", timeout=5)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'tiket_messages_in_total{channel="sms"} 1.0' in text
    assert "tiket_tickets_opened_total 1.0" in text
    assert 'tiket_outbox_messages{channel="sms",state="sent"} 1.0' in text
    assert "tiket_quarantined_messages 0.0" in text
    assert "tiket_processing_seconds_count 1.0" in text
    assert 'tiket_text_delivery{status="queued"} 1.0' in text


def _events(helpdesk: Helpdesk, kind: str) -> list[dict[str, Any]]:
    with helpdesk.db.session() as session:
        rows = session.scalars(select(Event.data).where(Event.kind == kind)).all()
    return [json.loads(json.dumps(row)) for row in rows]


def test_team_mailbox_is_told(helpdesk: Helpdesk) -> None:
    helpdesk.text(PHONE, "CCTV balai desa mati")
    wait_for(lambda: helpdesk.outbox(recipient=TEAM_MAILBOX), what="the team told")


def test_healthz_is_503_with_the_reason_when_a_mailbox_is_down(
    settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    mailbox = ImapSettings(
        name="helpdesk", host="127.0.0.1", port=free_port(), tls="none", user="x", password="y"
    )
    live = replace(live_settings(settings, twilio), imap=(mailbox,))
    running = Running(live)
    running.start(live.http.public_url)
    try:
        answer = httpx.get(live.http.public_url + "/healthz", timeout=5)
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "unhealthy" and body["checks"]["database"] == "ok"
        assert body["checks"]["mailboxes"].startswith("helpdesk: ")
    finally:
        running.stop()


def test_a_refused_sms_command_is_explained_to_the_technician(helpdesk: Helpdesk) -> None:
    helpdesk.text(PHONE, "Aplikasi e-office lambat")
    [ticket] = helpdesk.tickets()
    helpdesk.texts_to(PHONE, 1)
    helpdesk.text(PHONE, "STOP")
    helpdesk.texts_to(PHONE, 2)
    helpdesk.technician_mail(ticket.number, "#sms Tolong kirim tangkapan layar.\n")
    [refused] = wait_for(lambda: helpdesk.outbox(kind="text_refused"), what="the technician told")
    assert refused.recipient == TECH and "opted out" in refused.body
    assert [e["reason"] for e in _events(helpdesk, "sms_refused")] == [
        f"{PHONE} opted out of texts (they can send START)"
    ]
    assert len(helpdesk.twilio.to(PHONE)) == 2
