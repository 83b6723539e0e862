"""Processing in batches: one transaction for many rows, each row on its own savepoint."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from tests.support import make_mail
from tiket.config import Settings
from tiket.errors import TemporaryError
from tiket.inbound.store import Arrival, InboundStore, mail_key
from tiket.model import InboundMessage, Ticket, utcnow
from tiket.model.db import Database, Turn
from tiket.processing import claim_batch, process_batch, process_one
from tiket.rules import pipeline

# The time budget is not what these tests are about: on a loaded machine the first row of a
# process (templates compiled, models loaded) can take longer than the default 0.2 s.
NO_DEADLINE = 60.0
NO_SENDER = b"Subject: no sender\r\nMessage-ID: <nosender@x>\r\n\r\nhalo\r\n"


def _queue(db: Database, *raws: bytes) -> list[int]:
    store = InboundStore(db)
    arrivals = [
        Arrival(raw=raw, channel="email", idempotency_key=mail_key(raw), envelope_to=("h@t",))
        for raw in raws
    ]
    return [accepted.id for accepted in store.accept_many(arrivals)]


def _states(db: Database) -> dict[int, str]:
    with db.session() as session:
        return {
            row_id: state
            for row_id, state in session.execute(select(InboundMessage.id, InboundMessage.state))
        }


def _tickets(db: Database) -> int:
    with db.session() as session:
        return len(session.scalars(select(Ticket.id)).all())


def _mails(count: int) -> list[bytes]:
    return [
        make_mail(sender=f"Pegawai {n} <p{n}@dinas.example>", subject=f"Printer {n} rusak")
        for n in range(count)
    ]


def test_a_batch_processes_every_row_and_quarantines_a_bad_one_alone(
    db: Database, settings: Settings
) -> None:
    first, bad, last = _queue(db, *_mails(1), NO_SENDER, *_mails(2)[1:])
    results = process_batch(db, settings, b"s", [first, bad, last], budget_seconds=NO_DEADLINE)
    assert [result.inbound_id for result in results] == [first, bad, last]
    assert results[1].summary.startswith("quarantined: ")
    assert _states(db) == {first: "done", bad: "failed", last: "done"}
    assert _tickets(db) == 2


def test_a_batch_ends_early_when_another_thread_waits_for_the_database(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _queue(db, *_mails(3))
    monkeypatch.setattr(db, "others_waiting", lambda: True)
    results = process_batch(db, settings, b"s", ids)
    assert [result.inbound_id for result in results] == ids[:1]
    assert _states(db) == {ids[0]: "done", ids[1]: "queued", ids[2]: "queued"}
    monkeypatch.undo()
    assert (
        len(process_batch(db, settings, b"s", claim_batch(db, 10), budget_seconds=NO_DEADLINE)) == 2
    )
    assert _tickets(db) == 3


def test_a_temporary_failure_puts_the_row_back_and_the_batch_goes_on(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _queue(db, *_mails(3))
    real_run = pipeline.run

    def run(message, lookup):  # type: ignore[no-untyped-def]
        if "Printer 1" in (message.subject or ""):
            raise TemporaryError("the mail it answers is still queued")
        return real_run(message, lookup)

    monkeypatch.setattr(pipeline, "run", run)
    results = process_batch(db, settings, b"s", ids, budget_seconds=NO_DEADLINE)
    assert [result.deferred for result in results] == [False, True, False]
    assert _states(db) == {ids[0]: "done", ids[1]: "queued", ids[2]: "done"}
    with db.session() as session:
        row = session.get(InboundMessage, ids[1])
        assert row is not None and row.next_attempt_at is not None
        assert row.next_attempt_at > utcnow() + timedelta(seconds=1)
        assert row.attempts == 1
    assert claim_batch(db, 10) == []  # not due yet
    with pytest.raises(TemporaryError, match="still queued"):
        process_one(db, settings, b"s", ids[1])
    monkeypatch.undo()
    assert process_one(db, settings, b"s", ids[1]) is not None
    assert _tickets(db) == 3


def test_a_turn_counts_the_threads_that_wait_for_it() -> None:
    turn = Turn()
    entered = threading.Event()

    def other() -> None:
        with turn:
            entered.set()

    with turn:
        with turn:  # reentrant: the holder never waits for itself
            assert turn.waiting == 0
        thread = threading.Thread(target=other)
        thread.start()
        for _ in range(500):
            if turn.waiting == 1:
                break
            threading.Event().wait(0.01)
        assert turn.waiting == 1
        assert not entered.is_set()
    thread.join(10)
    assert entered.is_set() and turn.waiting == 0


def test_a_batch_asks_for_a_category_and_its_team_once(db: Database, settings: Settings) -> None:
    ids = _queue(db, *_mails(3))
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert len(process_batch(db, settings, b"s", ids, budget_seconds=NO_DEADLINE)) == 3
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert _tickets(db) == 3
    assert sum("FROM categories WHERE categories.slug" in s for s in statements) == 1
    assert sum("FROM teams WHERE lower(teams.name)" in s for s in statements) == 1
