"""Web reports and surveys through the real queue, pipeline and desk (SQLite, PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import func, select, update

from tiket import survey, teamwork
from tiket.config import Settings
from tiket.desk import Actor, Desk
from tiket.inbound.parse import Attachment
from tiket.inbound.store import Arrival, InboundStore
from tiket.inbound.web import ReportForm, to_raw
from tiket.model import (
    Entry,
    InboundMessage,
    InboundState,
    OutboxMessage,
    Requester,
    Survey,
    Ticket,
    utcnow,
)
from tiket.model.db import Database
from tiket.processing import claim_batch, process_one
from tiket.reports.lifecycle import run_resolution_hooks

PHONE = "+6281234567890"


def texting(settings: Settings) -> Settings:
    twilio = replace(
        settings.twilio, account_sid="AC" + "0" * 32, auth_token="token", sms_from="+6281100000000"
    )
    return replace(settings, twilio=twilio)


def submit(db: Database, settings: Settings, form: ReportForm, token: str) -> list[str]:
    InboundStore(db).accept(
        Arrival(raw=to_raw(form), channel="web", idempotency_key=f"web:{token}", source="web")
    )
    return process(db, settings)


def process(db: Database, settings: Settings) -> list[str]:
    secret = settings.mail.secret.encode()
    done = [process_one(db, settings, secret, i) for i in claim_batch(db, 100)]
    return [outcome for outcome in done if outcome is not None]


def text_in(db: Database, body: str, sid: str) -> None:
    fields = {"MessageSid": sid, "From": PHONE, "To": "+6281100000000", "Body": body}
    InboundStore(db).accept(
        Arrival(
            raw=urlencode(fields).encode(),
            channel="sms",
            idempotency_key=f"sms:{sid}",
            envelope_from=PHONE,
        )
    )


def form(**changes: str) -> ReportForm:
    values = {
        "name": "Nyoman Adi",
        "agency": "Bappeda",
        "email": "",
        "phone": PHONE,
        "category": "cctv",
        "description": "Kamera CCTV pintu depan tidak merekam",
        "language": "id",
        **changes,
    }
    return ReportForm(**values)  # type: ignore[arg-type]


def outbox(db: Database, kind: str) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_phone_only_report_is_acknowledged_by_sms_and_rated_by_a_reply(
    db: Database, settings: Settings
) -> None:
    settings = texting(settings)
    (outcome,) = submit(db, settings, form(), "token-phone-only-1")
    assert outcome.startswith("opened TKT-")
    number = outcome.split()[1]
    (ack,) = outbox(db, "ack")
    assert ack.channel == "sms" and number in ack.body
    with db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        assert ticket.channel == "web"
        assert ticket.category is not None and ticket.category.slug == "cctv"
        assert ticket.requester.phone == PHONE and ticket.requester.organisation == "Bappeda"
        desk = Desk(session, settings, settings.mail.secret.encode())
        teamwork.resolve(desk, ticket, Actor("Wayan"))
    (invitation,) = outbox(db, "survey")
    assert invitation.channel == "sms" and "/survey/" in invitation.body
    text_in(db, " 4 ", "SM0001")
    assert process(db, settings) == ["survey rating 4 by text"]
    with db.session() as session:
        rated = session.scalar(select(Survey))
        assert rated is not None
        assert (rated.rating, rated.answered_by) == (4, "sms")
        tickets = session.scalar(select(func.count()).select_from(Ticket))
    assert tickets == 1  # the answer became a rating, not a ticket
    text_in(db, "5", "SM0002")  # used: a second digit is an ordinary text again
    assert process(db, settings) != ["survey rating 5 by text"]


def test_one_survey_per_ticket_whatever_resolves_or_closes_it(
    db: Database, settings: Settings
) -> None:
    import tiket.gateway.survey_pages  # noqa: F401 - registers the lifecycle job's hook

    (outcome,) = submit(db, settings, form(email="nyoman@bappeda.example"), "token-mail-1")
    number = outcome.split()[1]
    with db.session() as session:
        desk = Desk(session, settings, settings.mail.secret.encode())
        ticket = desk.ticket(number)
        teamwork.resolve(desk, ticket, Actor("Wayan"))
        desk.close(ticket, Actor.system(), by_requester=False)
        assert run_resolution_hooks(desk, utcnow()) >= 1
    (invitation,) = outbox(db, "survey")
    assert invitation.channel == "email" and invitation.recipient == "nyoman@bappeda.example"
    with db.session() as session:
        token = session.scalar(select(Survey.token))
        assert token is not None
        assert survey.record(session, "no-such-token", 3, "") == "unknown"
        session.execute(update(Survey).values(expires_at=utcnow() - timedelta(seconds=1)))
    with db.session() as session:
        assert survey.record(session, token, 5, "") == "expired"
        session.execute(update(Survey).values(expires_at=utcnow() + timedelta(days=1)))
    with db.session() as session:
        assert survey.record(session, token, 5, "mantap") == "recorded"
    with db.session() as session:
        assert survey.record(session, token, 1, "") == "used"
        assert session.scalar(select(Survey.rating)) == 5


def test_a_digit_from_a_number_without_a_survey_is_an_ordinary_text(
    db: Database, settings: Settings
) -> None:
    settings = texting(settings)
    text_in(db, "3", "SM0100")
    (outcome,) = process(db, settings)
    assert "survey" not in outcome
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Survey)) == 0


def test_attachments_and_requester_details_are_kept(db: Database, settings: Settings) -> None:
    report = form(
        email="putu@bappeda.example",
        attachments=(Attachment("layar.png", "image/png", b"\x89PNG..."),),  # type: ignore[arg-type]
    )
    submit(db, settings, report, "token-attach-1")
    submit(db, settings, report, "token-attach-1")  # the same form again: the same row
    with db.session() as session:
        entry = session.scalar(select(Entry))
        assert entry is not None and entry.channel == "web"
        assert [(a.filename, a.data) for a in entry.attachments] == [("layar.png", b"\x89PNG...")]
        requester = session.scalar(select(Requester))
        assert requester is not None
        assert (requester.email, requester.phone) == ("putu@bappeda.example", PHONE)
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_an_unreadable_stored_form_is_quarantined_not_lost(
    db: Database, settings: Settings
) -> None:
    for key, raw in (
        ("web:broken-json-0001", b"{not json"),
        (
            "web:broken-b64-00001",
            b'{"form": "report", "name": "A", "description": "x", '
            b'"attachments": [{"filename": "a", "content_type": "x", "data": "@@@"}]}',
        ),
        ("web:not-a-report-001", b'{"form": "other", "name": "A", "description": "x"}'),
    ):
        InboundStore(db).accept(Arrival(raw=raw, channel="web", idempotency_key=key))
    outcomes = process(db, settings)
    assert len(outcomes) == 3 and all(o.startswith("quarantined") for o in outcomes)
    with db.session() as session:
        states = set(session.scalars(select(InboundMessage.state)))
        kept = session.scalars(select(InboundMessage.raw)).all()
    assert states == {InboundState.FAILED}
    assert all(raw for raw in kept)
