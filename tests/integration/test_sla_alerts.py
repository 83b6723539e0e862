"""SLA alerts with a frozen clock: approaching warns the team, breached also its managers, once."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime

from sqlalchemy import select

from tests.integration import report_data
from tests.integration.report_data import MANAGER, NETWORK_MAILBOX, local
from tiket.config import Settings
from tiket.desk import Desk
from tiket.model import Event, OutboxMessage, TicketNotice
from tiket.model.db import Database
from tiket.reports.alerts import check_sla
from tiket.reports.holidays import add_holiday, load_calendar
from tiket.reports.sla import SlaPolicy, set_target

MONDAY_8 = local(2026, 11, 23, 8)


def setup_ticket(db: Database, status: str = "open") -> None:
    with db.session() as session:
        report_data.add_network_team(session)
        who = report_data.requester(session, "budi@dinas-b.test", "Dinas B")
        report_data.ticket(
            session,
            "N1",
            category="network",
            channel="email",
            who=who,
            created=MONDAY_8,
            status=status,
        )


def check(
    db: Database, settings: Settings, now: datetime
) -> list[tuple[str, str, tuple[str, ...]]]:
    with db.session() as session:
        desk = Desk(session, settings, b"secret")
        calendar = load_calendar(session, settings)
        policy = SlaPolicy.load(session, settings)
        alerts = check_sla(desk, calendar, policy, now, settings.sla.approaching_share)
    return [(a.metric, a.level, a.notified) for a in alerts]


def mails(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(r.recipient, r.subject) for r in rows]


def events(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.scalars(select(Event).where(Event.kind.like("sla_%")).order_by(Event.id))
        return [(e.kind, e.data["metric"]) for e in rows]


def test_approaching_then_breached_then_quiet(db: Database, settings: Settings) -> None:
    setup_ticket(db)
    # 3 h of 4: not yet (80 % is 3 h 12 min)
    assert check(db, settings, local(2026, 11, 23, 11)) == []
    # 3 h 15 min: approaching, to the team only
    assert check(db, settings, local(2026, 11, 23, 11, 15)) == [
        ("first_response", "approaching", (NETWORK_MAILBOX,))
    ]
    assert check(db, settings, local(2026, 11, 23, 11, 30)) == []  # once
    # 4 h: breached, to the team and its manager
    assert check(db, settings, local(2026, 11, 23, 12)) == [
        ("first_response", "breached", (NETWORK_MAILBOX, MANAGER))
    ]
    # resolution: 24 business hours = Mon, Tue, Wed; 80 % at Wednesday 11:12
    assert check(db, settings, local(2026, 11, 25, 11)) == []
    assert check(db, settings, local(2026, 11, 25, 11, 12)) == [
        ("resolution", "approaching", (NETWORK_MAILBOX,))
    ]
    # Wednesday 16:00 and after hours: breached exactly at the end of the third day
    assert check(db, settings, local(2026, 11, 25, 15, 59)) == []
    assert check(db, settings, local(2026, 11, 25, 16)) == [
        ("resolution", "breached", (NETWORK_MAILBOX, MANAGER))
    ]
    assert check(db, settings, local(2026, 11, 30, 9)) == []
    assert [to for to, _ in mails(db)] == [
        NETWORK_MAILBOX,
        NETWORK_MAILBOX,
        MANAGER,
        NETWORK_MAILBOX,
        NETWORK_MAILBOX,
        MANAGER,
    ]
    subjects = [s for _, s in mails(db)]
    assert subjects[0] == "[N1] SLA first response target approaching: problem N1"
    assert subjects[1] == "[N1] SLA first response target breached: problem N1"
    assert events(db) == [
        ("sla_approaching", "first_response"),
        ("sla_breached", "first_response"),
        ("sla_approaching", "resolution"),
        ("sla_breached", "resolution"),
    ]


def test_a_late_check_sends_only_breached(db: Database, settings: Settings) -> None:
    setup_ticket(db)
    assert check(db, settings, local(2026, 11, 23, 15)) == [
        ("first_response", "breached", (NETWORK_MAILBOX, MANAGER))
    ]
    with db.session() as session:
        assert session.scalars(select(TicketNotice.notice)).all() == ["sla:first_response:breached"]


def test_holidays_and_targets_move_the_deadline(db: Database, settings: Settings) -> None:
    setup_ticket(db)
    with db.session() as session:
        add_holiday(session, date(2026, 11, 23), "a holiday on Monday")
        set_target(session, "network", "*", 60, 600)
    # Monday counts nothing; Tuesday 08:47 is 47 of 60 minutes: not yet 80 %
    assert check(db, settings, local(2026, 11, 24, 8, 47)) == []
    assert check(db, settings, local(2026, 11, 24, 8, 48)) == [
        ("first_response", "approaching", (NETWORK_MAILBOX,))
    ]
    assert check(db, settings, local(2026, 11, 24, 9)) == [
        ("first_response", "breached", (NETWORK_MAILBOX, MANAGER))
    ]


def test_answered_and_waiting_tickets(db: Database, settings: Settings) -> None:
    setup_ticket(db, status="pending")
    # waiting on the requester: nobody is warned
    assert check(db, settings, local(2026, 11, 30, 9)) == []


def test_the_mail_is_readable(db: Database, settings: Settings) -> None:
    setup_ticket(db)
    check(db, settings, local(2026, 11, 23, 12))
    with db.session() as session:
        payload = session.scalars(select(OutboxMessage.payload)).first()
    assert payload is not None
    message = email.message_from_bytes(payload, policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()  # type: ignore[attr-defined]
    assert "4.0" in text and "N1" in text
