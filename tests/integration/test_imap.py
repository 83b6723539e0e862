"""The IMAP watcher against a real Dovecot: intake, IDLE latency, crashes, two watchers, drains."""

from __future__ import annotations

import logging
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.dovecot import Dovecot, dovecot_fixture, mails  # noqa: F401
from tests.support import make_mail, wait_for
from tiket.config import ImapSettings, Settings
from tiket.errors import DatabaseUnavailable
from tiket.gateway.workers import Loop, Processor
from tiket.inbound.imap import Backoff, MailboxWatcher, return_path
from tiket.inbound.imap_connect import ImapConnectionLost
from tiket.inbound.imap_state import mailbox_statuses
from tiket.inbound.store import Accepted, Arrival, InboundStore
from tiket.model import InboundMessage, InboundState, MailboxState, Ticket
from tiket.model.db import Database

Start = Callable[..., MailboxWatcher]
# Faults of the IMAP side: the database only keeps the state row there, which the tests that
# run on both databases already cover on PostgreSQL. (Keeps the suite's runtime in bounds.)
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def watch() -> Iterator[Start]:
    """Starts watchers (fast backoff, short timeouts); stops and joins them after the test."""
    started: list[MailboxWatcher] = []

    def start(mailbox: ImapSettings, db: Database, **options: Any) -> MailboxWatcher:
        options.setdefault("backoff", Backoff(first=0.1, cap=0.5))
        options.setdefault("timeout", 5.0)
        watcher = MailboxWatcher(mailbox, db, **options)
        watcher.start()
        started.append(watcher)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()
    for watcher in started:
        watcher.join(5)
        assert not watcher.is_alive(), f"{watcher.name} did not stop within 5 s"


@pytest.fixture
def processor(db: Database, settings: Settings) -> Iterator[Processor]:
    worker = Processor(db, settings, b"test-secret", Loop("deliverer", 60.0))
    worker.start()
    yield worker
    worker.stop()
    worker.join(5)


def inbound_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count(InboundMessage.id))) or 0)


def state(db: Database, name: str = "helpdesk") -> MailboxState:
    """The mailbox's state row, or a blank one before the watcher has written it."""
    with db.session() as session:
        row = session.get(MailboxState, name)
    return row or MailboxState(name=name, connected=False)


def taken_today(db: Database, mailbox: ImapSettings) -> int:
    (status,) = mailbox_statuses(db, [mailbox])
    return status.taken_today


def test_delivered_mail_becomes_a_ticket(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
    processor: Processor,
) -> None:
    mailbox = dovecot.mailbox(team="jaringan")
    watcher = watch(mailbox, db, on_stored=processor.wake)
    wait_for(lambda: watcher.connected, what="the watcher to log in")

    dovecot.deliver([make_mail(subject="Wifi di kantor mati", message_id="<wifi-1@dinas.example>")])

    def ticket() -> tuple[InboundMessage, Ticket] | None:
        with db.session() as session:
            row = session.scalar(select(InboundMessage))
            if row is None or row.ticket_id is None:
                return None
            found = session.get(Ticket, row.ticket_id)
            return (row, found) if found else None

    row, found = wait_for(ticket, what="a ticket from the delivered mail")
    assert found.subject == "Wifi di kantor mati"
    assert row.source == "imap:helpdesk"
    assert row.meta["team"] == "jaringan"  # routing honours the mailbox's team
    assert row.meta["mailbox"] == "helpdesk" and row.meta["uid"] == 1
    assert row.envelope_from == "sender@example.org"  # the Return-Path Dovecot recorded
    wait_for(lambda: dovecot.count("INBOX") == 0, what="the mail to leave INBOX")
    assert dovecot.count("tiket.processed") == 1  # "tiket/processed", in Dovecot's spelling
    with dovecot.client() as client:
        client.select_folder("tiket.processed")
        flags = client.get_flags(client.search())
    assert all(b"\\Seen" not in f for f in flags.values()), "BODY.PEEK[] leaves mail unread"
    assert taken_today(db, mailbox) == 1
    saved = wait_for(lambda: (s := state(db)).last_success_at and s, what="a success")
    assert saved.connected and saved.mode == "idle" and saved.last_success_at is not None

    started = time.monotonic()
    watcher.stop()
    watcher.join(5)
    assert time.monotonic() - started < 2.0, "a stop request is honoured within about a second"
    assert not state(db).connected


@SQLITE_ONLY
def test_idle_brings_a_delivery_to_a_ticket_within_a_second(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
    processor: Processor,
) -> None:
    watcher = watch(dovecot.mailbox(), db, on_stored=processor.wake)
    wait_for(lambda: watcher.connected, what="the watcher to log in")
    latencies = []
    for i, raw in enumerate(mails(8, "lat")):
        dovecot.deliver([raw])
        delivered = time.monotonic()

        def done(n: int = i + 1) -> bool:
            with db.session() as session:
                return (
                    session.scalar(
                        select(func.count(InboundMessage.id)).where(
                            InboundMessage.ticket_id.is_not(None)
                        )
                    )
                    == n
                )

        wait_for(done, interval=0.005, what=f"ticket {i + 1}")
        latencies.append(time.monotonic() - delivered)
    latencies.sort()
    median = statistics.median(latencies)
    print(f"delivery → ticket: median {median:.3f} s, max {latencies[-1]:.3f} s")
    # Dovecot itself tells IDLE clients ~0.5 s after a delivery.
    assert median < 1.0
    assert latencies[-1] < 2.0


def test_a_crash_between_commit_and_move_loses_and_doubles_nothing(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
) -> None:
    dovecot.deliver(mails(5, "crash"))

    first: MailboxWatcher

    def crash(uids: Sequence[int]) -> None:
        # As if the process died here: committed, not moved, and the connection just dropped.
        first.stop()
        raise ImapConnectionLost("simulated crash after the commit")

    first = watch(dovecot.mailbox(), db, after_commit=crash)
    first.join(5)
    assert not first.is_alive()
    assert inbound_count(db) == 5
    assert dovecot.count("INBOX") == 5, "nothing moved before the crash"

    second = watch(dovecot.mailbox(), db)
    wait_for(lambda: dovecot.count("INBOX") == 0, what="the second run to move the mail")
    assert inbound_count(db) == 5, "the re-fetched mail is recognised, not stored again"
    assert second.taken == 0
    assert dovecot.count("tiket.processed") == 5


def test_two_watchers_on_one_mailbox_make_no_duplicate(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
) -> None:
    dovecot.drop(mails(300, "two"))
    one = watch(dovecot.mailbox(), db)
    two = watch(dovecot.mailbox(), db)
    wait_for(lambda: dovecot.count("INBOX") == 0, timeout=30, what="the two watchers to drain")
    dovecot.deliver(mails(20, "more"))  # and while both are idle on the same folder
    wait_for(lambda: inbound_count(db) == 320, timeout=15, what="320 inbound rows")
    wait_for(lambda: dovecot.count("INBOX") == 0, what="the last mails to be moved")
    # A watcher counts a batch only after it has committed and moved it: the counters catch up
    # a moment after the rows and the folder say so.
    wait_for(lambda: one.taken + two.taken >= 320, what="the watchers to count what they took")
    assert one.taken + two.taken == 320
    assert dovecot.count("tiket.processed") == 320
    with db.session() as session:
        keys = session.scalars(select(InboundMessage.idempotency_key)).all()
    assert len(set(keys)) == 320
    assert taken_today(db, dovecot.mailbox()) == 320, "counted once, whoever took it"


@SQLITE_ONLY
def test_a_wrong_password_is_reported_and_retried(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("not-the-password\n")
    mailbox = dovecot.mailbox(password="", password_file=str(secret))
    caplog.set_level(logging.WARNING, logger="tiket.inbound.imap")
    watcher = watch(mailbox, db)
    wait_for(lambda: state(db).last_error, what="the refused login in the state")
    saved = state(db)
    assert not saved.connected
    assert "refused the login of 'support'" in (saved.last_error or "")
    assert "check user and password" in (saved.last_error or "")
    wait_for(
        lambda: sum("kind=login_refused" in r.getMessage() for r in caplog.records) >= 2,
        what="a retry with backoff",
    )
    secret.write_text("secret\n")  # the admin fixes the file: no restart needed
    dovecot.deliver(mails(1, "pw"))
    wait_for(lambda: watcher.taken == 1, what="the mail after the password was fixed")
    assert state(db).connected


@SQLITE_ONLY
def test_the_server_stopped_and_restarted_under_the_watcher(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
) -> None:
    watcher = watch(dovecot.mailbox(), db)
    wait_for(lambda: watcher.connected, what="the watcher to log in")
    dovecot.stop()
    wait_for(lambda: not watcher.connected, what="the watcher to notice")
    wait_for(lambda: not state(db).connected, what="the state to say so")
    assert state(db).last_error
    dovecot.start()
    dovecot.deliver(mails(3, "back"))
    wait_for(lambda: watcher.taken == 3, timeout=15, what="the mail after the restart")
    assert state(db).connected
    assert dovecot.count("INBOX") == 0


@SQLITE_ONLY
def test_a_dropped_connection_is_noticed_and_reopened(
    dovecot: Dovecot, db: Database, watch: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tiket.inbound.imap")
    watcher = watch(dovecot.mailbox(), db)
    wait_for(lambda: watcher.connected and dovecot.imap_sessions(), what="an IMAP session")
    for pid in dovecot.imap_sessions():
        os.kill(pid, signal.SIGKILL)  # no BYE: the socket just ends
    wait_for(
        lambda: any("kind=connection_lost" in r.getMessage() for r in caplog.records),
        what="the drop to be noticed",
    )
    dovecot.deliver(mails(1, "dropped"))
    wait_for(lambda: watcher.taken == 1, what="mail over the new connection")


@SQLITE_ONLY
def test_a_server_that_stops_answering_is_left_and_reconnected(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="tiket.inbound.imap")
    mailbox = dovecot.mailbox(idle_seconds=1.0)
    watcher = watch(mailbox, db, timeout=1.0)
    wait_for(lambda: watcher.connected and dovecot.imap_sessions(), what="an IMAP session")
    frozen = dovecot.imap_sessions()
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)  # the process hangs; the kernel still holds the socket
    try:
        wait_for(
            lambda: any("kind=timeout" in r.getMessage() for r in caplog.records),
            what="the timeout to be noticed",
        )
        dovecot.deliver(mails(2, "hung"))
        wait_for(lambda: watcher.taken == 2, timeout=15, what="mail over a new connection")
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)


def test_a_thousand_waiting_mails_are_drained(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
) -> None:
    dovecot.drop(mails(1000, "bulk"))
    assert dovecot.count("INBOX") == 1000
    started = time.monotonic()
    watcher = watch(dovecot.mailbox(), db)
    wait_for(lambda: inbound_count(db) == 1000, timeout=60, what="1,000 inbound rows")
    elapsed = time.monotonic() - started
    wait_for(lambda: dovecot.count("INBOX") == 0, what="INBOX to be empty")
    print(f"drained 1,000 mails into the queue in {elapsed:.2f} s ({1000 / elapsed:.0f} msg/s)")
    wait_for(lambda: watcher.taken >= 1000, what="the watcher to count the last batch")
    assert watcher.taken == 1000
    with db.session() as session:
        uids = session.scalars(select(InboundMessage.meta)).all()
    assert sorted(m["uid"] for m in uids) == list(range(1, 1001))


@SQLITE_ONLY
def test_without_idle_and_move_it_polls_and_flags(db: Database, watch: Start) -> None:
    with Dovecot(capability="IMAP4rev1 LITERAL+ UIDPLUS") as server:
        watcher = watch(server.mailbox(poll_seconds=0.2), db)
        server.deliver(mails(2, "poll"))
        wait_for(lambda: watcher.taken == 2, what="polling to find the mail")
        assert state(db).mode == "poll"
        with server.client() as client:
            client.select_folder("INBOX")
            flags = client.get_flags(client.search())
        assert len(flags) == 2, "without MOVE the mail stays where it is"
        assert all({b"\\Seen", b"$TiketTaken"} <= set(f) for f in flags.values())
        assert not server.count("tiket.processed")
        server.deliver(mails(1, "poll-late"))
        wait_for(lambda: watcher.taken == 3, what="the third mail")
        watcher.stop()
        watcher.join(5)
        again = watch(server.mailbox(poll_seconds=0.2), db)
        wait_for(lambda: state(db).last_success_at and again.connected, what="a second run")
        assert again.taken == 0 and inbound_count(db) == 3, "flagged mail is not taken again"


@SQLITE_ONLY
def test_one_bad_message_does_not_block_the_mailbox(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
    processor: Processor,
) -> None:
    garbage = b"\x00\x01\x02 not a mail at all \xff\xfe" * 200
    dovecot.drop([*mails(2, "before"), garbage, *mails(2, "after")])
    watch(dovecot.mailbox(), db, on_stored=processor.wake)

    def settled() -> list[str] | None:
        with db.session() as session:
            states = session.scalars(select(InboundMessage.state).order_by(InboundMessage.id))
            found = list(states)
        return found if len(found) == 5 and InboundState.QUEUED not in found else None

    found = wait_for(settled, timeout=20, what="five processed rows")
    assert found[2] == InboundState.FAILED, "stored raw and quarantined"
    assert found.count(InboundState.DONE) == 4
    assert dovecot.count("INBOX") == 0


@SQLITE_ONLY
def test_a_full_mailbox_is_reported(
    db: Database, watch: Start, caplog: pytest.LogCaptureFixture
) -> None:
    with Dovecot(quota_messages=4) as server:
        server.deliver(mails(4, "full"))
        with pytest.raises(Exception, match="Quota exceeded"):
            server.deliver(mails(1, "refused"))
        caplog.set_level(logging.WARNING, logger="tiket.inbound.imap")
        watcher = watch(server.mailbox(), db)
        wait_for(lambda: watcher.taken == 4, what="the four mails")
        wait_for(lambda: state(db).warning, what="the warning in the state")
        assert "the mailbox is full (MESSAGE 4 of 4)" in (state(db).warning or "")
        assert any("action=imap_mailbox_full" in r.getMessage() for r in caplog.records)
        assert state(db).connected, "a full mailbox is a warning, not a broken connection"


@SQLITE_ONLY
def test_uidvalidity_change_is_noticed(
    dovecot: Dovecot,
    db: Database,
    watch: Start,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dovecot.deliver(mails(2, "v1"))
    first = watch(dovecot.mailbox(), db)
    wait_for(lambda: first.taken == 2, what="the first two mails")
    first.stop()
    first.join(5)
    before = state(db).uidvalidity
    subprocess.run(
        [
            *("doveadm", "-c", str(dovecot.config), "mailbox", "update"),
            *("--uid-validity", "4242", "-u", dovecot.user, "INBOX"),
        ],
        check=True,
        capture_output=True,
    )
    dovecot.deliver(mails(1, "v2"))
    caplog.set_level(logging.WARNING, logger="tiket.inbound.imap")
    second = watch(dovecot.mailbox(), db)
    wait_for(lambda: second.taken == 1, what="the mail after the renumbering")
    assert before != 4242 and state(db).uidvalidity == 4242
    assert any("action=imap_uidvalidity_changed" in r.getMessage() for r in caplog.records)
    assert inbound_count(db) == 3


class RefusingStore(InboundStore):
    """The real store, except that the database "refuses" any message containing REFUSE."""

    def accept_many(self, arrivals: Sequence[Arrival]) -> list[Accepted]:
        if any(b"REFUSE" in arrival.raw for arrival in arrivals):
            raise DatabaseUnavailable("cannot store inbound message: value refused")
        return super().accept_many(arrivals)


@SQLITE_ONLY
def test_a_message_the_database_refuses_stays_behind_alone(
    dovecot: Dovecot, db: Database, watch: Start, caplog: pytest.LogCaptureFixture
) -> None:
    refused = make_mail(subject="REFUSE me", message_id="<refuse@dinas.example>")
    dovecot.drop([*mails(2, "ok"), refused, *mails(2, "ok2")])
    caplog.set_level(logging.ERROR, logger="tiket.inbound.imap")
    watcher = watch(dovecot.mailbox(), db, store=RefusingStore(db))
    wait_for(lambda: watcher.taken == 4, what="the four others")
    wait_for(lambda: dovecot.count("INBOX") == 1, what="the four to be moved")
    assert any("action=imap_unstorable" in r.getMessage() for r in caplog.records)
    assert watcher.connected, "the mailbox goes on"


def test_return_path_is_the_envelope_sender_without_control_characters() -> None:
    assert return_path(b"Return-Path: <budi@dinas.example>\r\nFrom: x\r\n\r\nbody") == (
        "budi@dinas.example"
    )
    assert return_path(b"Return-Path: <>\r\n\r\n") == ""
    assert return_path(b"Return-Path: <a\x00b@x.example>\n\n") == "ab@x.example"
    assert return_path(b"From: x\r\n\r\nReturn-Path: <in@body.example>\r\n") == ""


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(first=1.0, cap=60.0)
    for failures, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (7, 60.0), (30, 60.0)):
        delays = [backoff.delay(failures) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1, "jittered"
