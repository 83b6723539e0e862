"""Retention on SQLite and PostgreSQL with a frozen clock: raw originals, then attachments,
then the person go; the parsed history and the report numbers stay; runs are idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import func, select

from tests.integration.test_privacy_erase import (
    ADDRESS,
    _file_traces,
    _mail_with_attachment,
    _process_and_deliver,
    _reports,
    _seed_the_rest,
    _stored_traces,
    run,
)
from tests.integration.test_privacy_erase import cli as cli  # the fixture
from tests.support import make_mail
from tiket.config import Settings
from tiket.model import Attachment, Entry, InboundMessage, Requester, Ticket
from tiket.model.db import Database
from tiket.privacy import retention
from tiket.reports.jobs import JobContext, job_specs

CLOSED = datetime(2020, 3, 2, 9, 0, tzinfo=UTC)


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        raw = session.scalar(
            select(func.count()).select_from(InboundMessage).where(InboundMessage.raw.is_not(None))
        )
        attachments = session.scalar(select(func.count()).select_from(Attachment))
        entries = session.scalar(select(func.count()).select_from(Entry))
    return int(raw or 0), int(attachments or 0), int(entries or 0)


def _close_budi(db: Database) -> None:
    with db.session() as session:
        budi = session.scalars(select(Requester).where(Requester.email == ADDRESS)).one()
        for ticket in session.scalars(select(Ticket).where(Ticket.requester_id == budi.id)):
            ticket.resolved_at = ticket.closed_at = CLOSED


def test_retention_steps_with_a_frozen_clock(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=_mail_with_attachment())
    run(cli, "ingest", "-", input=make_mail(sender="Ani <ani@dinas.example>"))
    db = Database(settings.database_url)
    try:
        _process_and_deliver(db, settings)
        _seed_the_rest(db)
        _close_budi(db)
        assert _counts(db) == (2, 1, _counts(db)[2])
        entries = _counts(db)[2]
        before = _reports(db)

        early = retention.run(db, settings, CLOSED + timedelta(days=89))
        assert early.summary().startswith("removed 0 raw messages, 0 attachments")
        assert _counts(db) == (2, 1, entries)

        # 90 days after closing: Budi's original goes, Ani's (open ticket) stays, history stays.
        planned = retention.plan(db, settings, CLOSED + timedelta(days=90))
        assert (planned.raw_messages, planned.attachments) == (1, 0)
        assert _counts(db) == (2, 1, entries)  # a plan changes nothing
        assert retention.run(db, settings, CLOSED + timedelta(days=90)).raw_messages == 1
        assert _counts(db) == (1, 1, entries)

        after_year = retention.run(db, settings, CLOSED + timedelta(days=365))
        assert (after_year.raw_messages, after_year.attachments) == (0, 1)
        assert _counts(db) == (1, 0, entries)
        assert _stored_traces(db), "before K years the person is still there"

        five_years = CLOSED + timedelta(days=5 * 365 + 2)
        assert retention.plan(db, settings, five_years - timedelta(days=2)).anonymised_tickets == 0
        # The daily job, as the scheduler calls it.
        spec = job_specs(settings)["retention"]
        ctx = JobContext(
            db, settings, b"s", five_years, "retention", spec.period(five_years, ZoneInfo("UTC"))
        )
        assert spec.run(ctx).endswith("anonymised 1 tickets")
        assert _stored_traces(db) == []
        assert _file_traces(settings.var_dir) == []  # outbox files and the SQLite file
        assert _reports(db) == before
        with db.session() as session:
            (ticket,) = session.scalars(select(Ticket).where(Ticket.closed_at == CLOSED))
            assert ticket.requester.name.startswith("pseudonym-")
            assert ticket.requester.organisation == "Dinas Kominfo"
            assert ticket.category_id is not None and ticket.team_id is not None
            ani = session.scalars(select(Requester).where(Requester.email == "ani@dinas.example"))
            assert ani.one().name == "Ani"

        again = retention.run(db, settings, five_years)
        assert again.summary() == (
            "removed 0 raw messages, 0 attachments, 0 media; anonymised 0 tickets"
        )
    finally:
        db.dispose()


def test_retention_cli_dry_run_then_run(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=_mail_with_attachment())
    db = Database(settings.database_url)
    try:
        _process_and_deliver(db, settings)
        _close_budi(db)  # in 2020: every step is due by the real clock
        with db.session() as session:
            number = session.scalars(select(Ticket.number)).one()
        dry = run(cli, "retention", "run", "--dry-run").output
        assert "would remove 1 raw messages, 1 attachments" in dry
        assert f"would anonymise {number}" in dry
        assert _stored_traces(db)
        done = run(cli, "retention", "run").output
        assert "removed 1 raw messages, 1 attachments, 0 media; anonymised 1 tickets" in done
        assert _stored_traces(db) == []
        assert "removed 0 raw messages" in run(cli, "retention", "run").output
    finally:
        db.dispose()
