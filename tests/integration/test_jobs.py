"""Scheduled jobs: digests and reports sent once a period (even after a restart or a crash),
lifecycle closing and reminding."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select, update

from tests.integration import report_data
from tests.integration.report_data import MANAGER, NETWORK_MAILBOX, local
from tiket.config import Settings
from tiket.gateway.scheduler import run_job
from tiket.model import Entry, Event, JobRun, JobSend, OutboxMessage, Ticket
from tiket.model.db import Database
from tiket.reports.jobs import job_specs
from tiket.reports.lifecycle import RESOLUTION_HOOKS, ResolutionHook, register_resolution_hook

DIGEST_MORNING = local(2026, 10, 6, 7)  # Tuesday: the digest looks back on Monday 5 October


def outbox(db: Database, kind: str | None = None) -> list[OutboxMessage]:
    with db.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(session.scalars(query))


def parsed(row: OutboxMessage) -> EmailMessage:
    assert row.payload is not None
    return email.message_from_bytes(row.payload, policy=email.policy.default)  # type: ignore[return-value]


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None, f"no text/{subtype} part"
    return str(body.get_content())  # type: ignore[attr-defined]


def run(db: Database, settings: Settings, name: str, now: datetime, force: bool = False) -> str:
    outcome = run_job(db, settings, b"secret", job_specs(settings)[name], now=now, force=force)
    return f"{outcome.state}: {outcome.result}"


def test_daily_digest_per_team_html_and_text(db: Database, settings: Settings) -> None:
    with db.session() as session:
        report_data.october(session)
    assert run(db, settings, "digest", DIGEST_MORNING) == "done: sent 2 of 2 team digests"
    rows = {row.recipient: parsed(row) for row in outbox(db, "digest")}
    network = rows[NETWORK_MAILBOX]
    assert network.get_content_type() == "multipart/alternative"
    assert network["Auto-Submitted"] == "auto-generated"
    text = part(network, "plain")
    assert "New yesterday: 1" in text  # T3, opened Monday
    assert "Open now: 1" in text  # T4 (T3 is resolved)
    assert "Closed yesterday: 0" in text
    html = part(network, "html")
    assert "<h1" in html and "T3" in html
    support = part(rows["support-team@example.org"], "plain")
    assert "Closed yesterday: 1" in support  # T2


def test_a_digest_is_not_sent_again_after_a_restart(db: Database, settings: Settings) -> None:
    with db.session() as session:
        report_data.october(session)
    assert run(db, settings, "digest", DIGEST_MORNING).startswith("done: sent 2")
    db.dispose()  # the daemon stops; a new one starts on the same database
    restarted = Database(settings.database_url)
    try:
        later = DIGEST_MORNING + timedelta(hours=3)
        assert run(restarted, settings, "digest", later) == "skipped: already done for 2026-10-06"
        # even forced, the sends already made are not made again
        assert run(restarted, settings, "digest", later, force=True) == (
            "done: sent 0 of 2 team digests"
        )
        assert len(outbox(restarted, "digest")) == 2
        # the next day is a new period
        assert run(restarted, settings, "digest", DIGEST_MORNING + timedelta(days=1)).startswith(
            "done: sent 2"
        )
        assert len(outbox(restarted, "digest")) == 4
    finally:
        restarted.dispose()


def test_a_crashed_run_sends_only_what_is_missing(db: Database, settings: Settings) -> None:
    with db.session() as session:
        report_data.october(session)
    assert run(db, settings, "digest", DIGEST_MORNING).startswith("done: sent 2")
    # as if the daemon died after the network digest was committed, before the rest
    with db.session() as session:
        support = session.scalar(select(JobSend).where(JobSend.recipient != NETWORK_MAILBOX))
        assert support is not None
        session.delete(session.get_one(OutboxMessage, support.outbox_id))
        session.delete(support)
        session.execute(update(JobRun).values(state="running", started_at=DIGEST_MORNING))
    # a run that is fresh is left alone; a stale one is taken over
    assert run(db, settings, "digest", DIGEST_MORNING + timedelta(minutes=5)).startswith(
        "skipped: running since"
    )
    assert run(db, settings, "digest", DIGEST_MORNING + timedelta(hours=1)) == (
        "done: sent 1 of 2 team digests"
    )
    assert sorted(r.recipient for r in outbox(db, "digest")) == [
        "network@pemda.test",
        "support-team@example.org",
    ]


def test_monthly_report_mailed_to_managers_with_charts(db: Database, settings: Settings) -> None:
    with db.session() as session:
        report_data.october(session)
    result = run(db, settings, "monthly-report", local(2026, 11, 1, 6))
    assert result == "done: sent 1 of 1 reports"
    (row,) = outbox(db, "monthly-report")
    assert row.recipient == MANAGER
    message = parsed(row)
    assert message["Subject"] == "Monthly report 2026-10"
    html = part(message, "html")
    assert html.count('src="cid:chart-') == 4
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 4
    assert all(p.get_content().startswith(b"\x89PNG") for p in images)  # type: ignore[attr-defined]
    assert {p["Content-ID"].strip("<>") for p in images} == {
        f"chart-{n}@tiket" for n in ("categories", "resolution", "backlog", "sla")
    }
    assert "Tickets in 5, closed 3" in part(message, "plain")
    assert run(db, settings, "monthly-report", local(2026, 11, 1, 7)).startswith("skipped")


def test_annual_report_job_names_last_year(db: Database, settings: Settings) -> None:
    with db.session() as session:
        report_data.october(session)
    assert run(db, settings, "annual-report", local(2027, 1, 1, 6)) == "done: sent 1 of 1 reports"
    (row,) = outbox(db, "annual-report")
    assert parsed(row)["Subject"] == "Annual report 2026"


def test_weekly_summary_with_trends(db: Database, settings: Settings) -> None:
    with db.session() as session:
        report_data.add_network_team(session)
        for i in range(6):  # six requesters of one agency, the same problem, this week
            who = report_data.requester(session, f"p{i}@dinas-c.test", "Dinas C")
            report_data.ticket(
                session,
                f"W{i}",
                category="network",
                channel="email",
                who=who,
                subject="Wifi lantai 2 mati",
                created=local(2026, 11, 20, 9, i),
            )
    assert run(db, settings, "weekly", local(2026, 11, 23, 7, 30)) == "done: sent 1 of 1 summaries"
    (row,) = outbox(db, "weekly")
    message = parsed(row)
    assert message["Subject"] == "Weekly summary 2026-W47"
    text = part(message, "plain")
    assert "Network: 6 in, 0 closed, 6 open now" in text
    assert 'RISING Jaringan komputer dan Wi-Fi: "Wifi lantai 2 mati" 6 tickets from 6' in text
    assert "weekly 0 0 0 6" in text
    assert "Wifi lantai 2 mati" in part(message, "html")


@pytest.fixture
def only_test_hooks() -> Iterator[None]:
    """The survey registers its hook when its module is imported: keep tests independent of it."""
    saved = dict(RESOLUTION_HOOKS)
    RESOLUTION_HOOKS.clear()
    yield
    RESOLUTION_HOOKS.clear()
    RESOLUTION_HOOKS.update(saved)


@pytest.mark.usefixtures("only_test_hooks")
def test_lifecycle_closes_reminds_and_runs_hooks(db: Database, settings: Settings) -> None:
    settings = replace(settings, lifecycle=replace(settings.lifecycle, autoclose_days=7))
    now = local(2026, 11, 23, 10)
    with db.session() as session:
        who = report_data.requester(session, "ani@dinas-a.test", "Dinas A")
        old = now - timedelta(days=8)
        report_data.ticket(
            session,
            "R1",
            category="application",
            channel="email",
            who=who,
            created=old,
            resolved=old,
        )
        report_data.ticket(
            session,
            "R2",
            category="application",
            channel="email",
            who=who,
            created=old,
            resolved=now - timedelta(days=2),
        )
        replied = report_data.ticket(
            session,
            "R3",
            category="application",
            channel="email",
            who=who,
            created=old,
            resolved=old,
        )
        session.add(
            Entry(
                ticket_id=replied.id,
                kind="message",
                channel="email",
                direction="in",
                body="still broken",
                created_at=old + timedelta(days=1),
            )
        )
        waiting = report_data.ticket(
            session,
            "P1",
            category="application",
            channel="email",
            who=who,
            created=old,
            status="pending",
        )
        waiting.updated_at = now - timedelta(days=4)
    hooked: list[str] = []
    register_resolution_hook(
        ResolutionHook("test-survey", lambda _desk, t: hooked.append(t.number))
    )
    assert run(db, settings, "lifecycle", now) == ("done: closed 1, reminded 1, resolution hooks 3")
    assert sorted(hooked) == ["R1", "R2", "R3"]
    assert run(db, settings, "lifecycle", now + timedelta(hours=1)) == (
        "done: closed 0, reminded 0, resolution hooks 0"
    )
    with db.session() as session:
        statuses = {n: s for n, s in session.execute(select(Ticket.number, Ticket.status))}
        assert statuses == {"R1": "closed", "R2": "resolved", "R3": "resolved", "P1": "pending"}
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
        assert "reminded" in kinds
    assert {"closed", "waiting_reminder"} <= {r.kind for r in outbox(db)}


@pytest.mark.usefixtures("only_test_hooks")
def test_without_hooks_nothing_is_sent_after_resolution(db: Database, settings: Settings) -> None:
    now = local(2026, 11, 23, 10)
    with db.session() as session:
        who = report_data.requester(session, "ani@dinas-a.test", "Dinas A")
        report_data.ticket(
            session,
            "R2",
            category="application",
            channel="email",
            who=who,
            created=now - timedelta(days=1),
            resolved=now - timedelta(hours=2),
        )
    assert run(db, settings, "lifecycle", now) == "done: closed 0, reminded 0, resolution hooks 0"
    assert outbox(db) == []


def test_sla_job_measures_and_alerts(db: Database, settings: Settings) -> None:
    with db.session() as session:
        report_data.add_network_team(session)
        who = report_data.requester(session, "budi@dinas-b.test", "Dinas B")
        report_data.ticket(
            session,
            "N1",
            category="network",
            channel="email",
            who=who,
            created=local(2026, 11, 23, 8),
            first_response=local(2026, 11, 23, 9),
        )
    assert run(db, settings, "sla", local(2026, 11, 26, 9)) == "done: measured 1, alerts 1"
    assert run(db, settings, "sla", local(2026, 11, 26, 9, 2)).startswith("skipped")
    assert run(db, settings, "sla", local(2026, 11, 26, 9, 5)) == "done: measured 0, alerts 0"
