"""Texts against a real database and the fake Twilio API: the WhatsApp window, the CLI, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import free_port
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tiket.cli import main
from tiket.config import Settings, TwilioSettings
from tiket.desk import Actor, Desk
from tiket.errors import PermanentError, TemporaryError
from tiket.model import (
    Direction,
    EntryKind,
    InboundMessage,
    OutboxMessage,
    Requester,
    Ticket,
    utcnow,
)
from tiket.model.db import Database
from tiket.outbound.sms import RecipientOptedOut, TwilioSender

PHONE = "+6281234560002"
TEMPLATE = "HX" + "a" * 32


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def texting(settings: Settings, twilio: FakeTwilio, *templates: str) -> Settings:
    return replace(
        settings,
        twilio=TwilioSettings(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            sms_from="+15550001111",
            whatsapp_from="whatsapp:+15550001111",
            api_base=twilio.url,
            whatsapp_templates=templates,
        ),
    )


def whatsapp_ticket(db: Database, settings: Settings, last_message_age: timedelta) -> str:
    with db.session() as session:
        desk = Desk(session, settings, b"test-secret")
        requester = desk.requester_by_phone(PHONE)
        ticket = desk.open(
            requester=requester,
            subject="Kamera mati",
            channel="whatsapp",
            category=None,
            team=None,
            language="id",
        )
        desk.add_entry(
            ticket,
            kind=EntryKind.MESSAGE,
            channel="whatsapp",
            direction=Direction.IN,
            author=Actor("", f"whatsapp:{PHONE}"),
            body="Kamera mati",
        )
        session.add(
            InboundMessage(
                idempotency_key=f"twilio:SM{ticket.number}",
                channel="whatsapp",
                envelope_from=f"whatsapp:{PHONE}",
                raw=b"",
                received_at=utcnow() - last_message_age,
            )
        )
        return ticket.number


def reply(db: Database, settings: Settings, number: str) -> OutboxMessage:
    with db.session() as session:
        desk = Desk(session, settings, b"test-secret")
        desk.reply(desk.ticket(number), Actor("Wayan", "wayan@example.org"), "Sudah kami cek.")
    with db.session() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).one()


def test_inside_the_window_whatsapp_is_free_form(
    db: Database, settings: Settings, twilio: FakeTwilio
) -> None:
    live = texting(settings, twilio)
    row = reply(db, live, whatsapp_ticket(db, live, timedelta(hours=23)))
    assert (row.channel, row.recipient, row.payload) == ("whatsapp", f"whatsapp:{PHONE}", None)
    assert "Sudah kami cek." in row.body


def test_outside_the_window_a_configured_template_is_sent_by_content_sid(
    db: Database, settings: Settings, twilio: FakeTwilio
) -> None:
    live = texting(settings, twilio, f"reply={TEMPLATE}")
    number = whatsapp_ticket(db, live, timedelta(hours=25))
    row = reply(db, live, number)
    assert row.channel == "whatsapp" and row.payload is not None
    template = json.loads(row.payload)
    assert template["content_sid"] == TEMPLATE and template["variables"]["1"] == number
    sid, status = TwilioSender(live).send(row)
    [sent] = twilio.sent
    assert sent.sid == sid and status == "queued"
    assert sent.fields["ContentSid"] == TEMPLATE and "Body" not in sent.fields
    assert json.loads(sent.fields["ContentVariables"])["1"] == number


def test_outside_the_window_without_a_template_the_answer_goes_by_sms(
    db: Database, settings: Settings, twilio: FakeTwilio
) -> None:
    live = texting(settings, twilio, f"closed={TEMPLATE}")
    row = reply(db, live, whatsapp_ticket(db, live, timedelta(days=3)))
    assert (row.channel, row.recipient, row.payload) == ("sms", PHONE, None)


def test_twilio_errors_are_classified(settings: Settings, twilio: FakeTwilio) -> None:
    live = texting(settings, twilio)
    sender = TwilioSender(live)
    row = OutboxMessage(id=1, channel="sms", recipient=PHONE, body="hi", kind="reply")
    twilio.errors[PHONE] = (400, 21211, "Invalid 'To' Phone Number")
    with pytest.raises(PermanentError, match="21211"):
        sender.send(row)
    twilio.errors[PHONE] = (400, 21610, "unsubscribed recipient")
    with pytest.raises(RecipientOptedOut):
        sender.send(row)
    twilio.errors[PHONE] = (429, 20429, "Too Many Requests")
    with pytest.raises(TemporaryError):
        sender.send(row)
    twilio.errors.clear()
    twilio.down = True
    with pytest.raises(TemporaryError, match="503"):
        sender.send(row)
    unreachable = TwilioSender(
        replace(live, twilio=replace(live.twilio, api_base=f"http://127.0.0.1:{free_port()}"))
    )
    with pytest.raises(TemporaryError, match="unreachable"):
        unreachable.send(row)
    no_whatsapp = TwilioSender(replace(live, twilio=replace(live.twilio, whatsapp_from="")))
    with pytest.raises(PermanentError, match="whatsapp"):
        no_whatsapp.send(replace_channel(row, "whatsapp"))


def replace_channel(row: OutboxMessage, channel: str) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, channel=channel, recipient=row.recipient, body=row.body, kind=row.kind
    )


def config_file(tmp_path: Path, settings: Settings, twilio: FakeTwilio) -> Path:
    path = tmp_path / "tiket.toml"
    path.write_text(
        f"""
[paths]
var = "{settings.var_dir}"
[database]
url = "{settings.database_url}"
[mail]
address = "helpdesk@tiket.test"
secret = "test-secret"
[twilio]
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
sms_from = "+15550001111"
api_base = "{twilio.url}"
"""
    )
    return path


def test_cli_texts_the_requester(
    tmp_path: Path, db: Database, settings: Settings, twilio: FakeTwilio
) -> None:
    live = texting(settings, twilio)
    with db.session() as session:
        desk = Desk(session, live, b"test-secret")
        by_phone = desk.open(
            requester=desk.requester_by_phone(PHONE),
            subject="Wifi",
            channel="sms",
            category=None,
            team=None,
            language="id",
        )
        by_mail = desk.open(
            requester=desk.requester_by_email("budi@dinas.example"),
            subject="Email",
            channel="email",
            category=None,
            team=None,
            language="id",
        )
        numbers = by_phone.number, by_mail.number
    config = str(config_file(tmp_path, settings, twilio))
    runner = CliRunner()
    result = runner.invoke(main, ["--config", config, "tickets", "sms", numbers[0], "Teknisi OTW"])
    assert result.exit_code == 0, result.output
    assert f"queued a sms text to {PHONE}" in result.output
    with db.session() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).one()
        assert row.recipient == PHONE and "Teknisi OTW" in row.body
        ticket = session.scalars(select(Ticket).where(Ticket.number == numbers[0])).one()
        assert ticket.entries[-1].kind == "reply" and ticket.entries[-1].channel == "sms"
    result = runner.invoke(main, ["--config", config, "tickets", "sms", numbers[1], "Halo"])
    assert result.exit_code == 1 and "has no phone number" in result.output
    result = runner.invoke(main, ["--config", config, "tickets", "sms", numbers[0], "  "])
    assert result.exit_code == 2 and "empty" in result.output
    with db.session() as session:
        assert session.scalars(select(Requester).where(Requester.phone == PHONE)).one()
