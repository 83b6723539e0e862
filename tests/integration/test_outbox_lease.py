"""A deliverer whose lease ran out (a slow smarthost) leaves the row to the worker that took it.

Two daemons are reproduced in one process: the first claims, its lease is made to run out by
moving the row's lease stamp back, the second claims the row again. What the first writes
afterwards must change nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.support import queue_answers
from tiket.config import Settings
from tiket.errors import DatabaseUnavailable, PermanentError
from tiket.gateway.text_worker import TextDeliverer
from tiket.gateway.workers import Deliverer
from tiket.model import OutboxMessage, OutboxState, utcnow
from tiket.model.db import Database
from tiket.outbound import outbox

CFG = {"base": 60.0, "ceiling": 3600.0, "max_attempts": 5}


def _queue(db: Database, count: int, channel: str = "email") -> list[int]:
    return queue_answers(db, count, tag="lease", channel=channel)


def _expire_lease(db: Database, row_id: int) -> None:
    """As if the claimer had been busy for longer than the lease."""
    stamp = utcnow() - outbox.SENDING_LEASE - timedelta(seconds=1)
    with db.session() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(next_attempt_at=stamp)
        )


def _row(db: Database, row_id: int) -> OutboxMessage:
    with db.session() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == row_id))
        assert row is not None
        return row


def _lost_lease(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "action=outbox_lease_lost" in r.getMessage()]


def test_a_late_finisher_changes_nothing_the_new_owner_did(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    (row_id,) = _queue(db, 1)
    (late,) = outbox.claim(db, ["email"])
    _expire_lease(db, row_id)
    (owner,) = outbox.claim(db, ["email"])
    assert (late.attempts, owner.attempts) == (1, 2)

    with caplog.at_level(logging.WARNING, logger="tiket.outbound.outbox"):
        assert outbox.mark_sent(db, late, "late-id") is False
        assert outbox.mark_failed(db, late, "timed out", permanent=True, **CFG) is False
        assert not outbox.renew(db, late)
    row = _row(db, row_id)
    assert (row.state, row.attempts, row.provider_id) == (OutboxState.SENDING, 2, None)
    assert len(_lost_lease(caplog)) == 3
    assert f"outbox={row_id} attempts=1 step=mark_sent" in _lost_lease(caplog)[0]

    assert outbox.mark_sent(db, owner, "owner-id") is True
    assert outbox.mark_failed(db, late, "timed out", permanent=False, **CFG) is False
    row = _row(db, row_id)
    assert (row.state, row.provider_id, row.last_error) == (OutboxState.SENT, "owner-id", None)


def test_the_owner_still_marks_its_rows(db: Database) -> None:
    first, second = _queue(db, 2)
    rows = outbox.claim(db, ["email"])
    assert outbox.renew(db, rows[0])
    assert outbox.mark_sent(db, rows[0], "p1")
    assert outbox.mark_failed(db, rows[1], "451 try later", permanent=False, **CFG)
    assert (_row(db, first).state, _row(db, second).state) == ("sent", "queued")


class SlowSmarthost:
    """An EmailSender whose first delivery takes so long that the round's next row is taken."""

    def __init__(self, db: Database, taken: int) -> None:
        self.db = db
        self.taken = taken
        self.sent: list[int] = []
        self.deliverer: Deliverer | None = None

    def send(self, row: OutboxMessage) -> str | None:
        if not self.sent:
            # The first delivery outlasts the lease: for the deliverer's clock as for the row.
            assert self.deliverer is not None
            late = time.monotonic() + outbox.SENDING_LEASE.total_seconds() + 1
            self.deliverer.clock = lambda: late
            _expire_lease(self.db, self.taken)
            assert [r.id for r in outbox.claim(self.db, ["email"])] == [self.taken]
        self.sent.append(row.id)
        return f"250 queued as {row.id}"

    def close(self) -> None:
        pass


def test_a_deliverer_past_its_lease_does_not_send_a_row_taken_since(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = _queue(db, 2)
    smarthost = SlowSmarthost(db, taken=second)
    smarthost.deliverer = Deliverer(db, settings, smarthost)

    with caplog.at_level(logging.WARNING, logger="tiket.outbound.outbox"):
        smarthost.deliverer.work()

    assert smarthost.sent == [first]
    assert _row(db, first).state == OutboxState.SENT
    taken = _row(db, second)
    assert (taken.state, taken.attempts) == (OutboxState.SENDING, 2)
    assert [m for m in _lost_lease(caplog) if f"outbox={second} " in m]


class SlowTwilio:
    """A TextSender that answers a permanent error after the row was taken by another worker."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def send(self, row: OutboxMessage) -> tuple[str, str]:
        _expire_lease(self.db, row.id)
        assert len(outbox.claim(self.db, ["sms"])) == 1
        raise PermanentError("21211 invalid number")


def test_a_text_deliverer_past_its_lease_does_not_fail_a_row_taken_since(
    db: Database, settings: Settings
) -> None:
    (row_id,) = _queue(db, 1, channel="sms")
    (row,) = outbox.claim(db, ["sms"])

    TextDeliverer(db, settings, b"secret", SlowTwilio(db)).deliver(row)

    taken = _row(db, row_id)
    assert (taken.state, taken.attempts, taken.last_error) == (OutboxState.SENDING, 2, None)


class CountingTwilio:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, row: OutboxMessage) -> tuple[str, str]:
        self.sent.append(row.id)
        return f"SM{row.id}", "queued"


def test_a_text_the_provider_took_while_the_database_was_away_is_not_sent_again(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (row_id,) = _queue(db, 1, channel="sms")
    twilio = CountingTwilio()
    deliverer = TextDeliverer(db, settings, b"secret", twilio)

    def database_away(*args: object, **kwargs: object) -> bool:
        raise DatabaseUnavailable("database unavailable: connection refused")

    monkeypatch.setattr(outbox, "mark_sent", database_away)
    with pytest.raises(DatabaseUnavailable):
        deliverer.work()
    monkeypatch.undo()
    deliverer.work()

    assert twilio.sent == [row_id]
    row = _row(db, row_id)
    assert (row.state, row.provider_id) == (OutboxState.SENT, f"SM{row_id}")
    assert deliverer.unmarked == {}


class CountingSmarthost:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, row: OutboxMessage) -> str | None:
        self.sent.append(row.id)
        return f"250 queued as {row.id}"

    def close(self) -> None:
        pass


def test_a_round_marks_what_the_smarthost_took_in_one_transaction(
    db: Database, settings: Settings
) -> None:
    ids = _queue(db, 5)
    smarthost = CountingSmarthost()
    deliverer = Deliverer(db, settings, smarthost)
    commits: list[int] = []
    real_session = db.session

    def counted_session():  # type: ignore[no-untyped-def]
        commits.append(1)
        return real_session()

    db.session = counted_session  # type: ignore[method-assign]
    try:
        deliverer.work()
    finally:
        db.session = real_session  # type: ignore[method-assign]

    assert smarthost.sent == ids
    assert [_row(db, row_id).state for row_id in ids] == [OutboxState.SENT] * 5
    assert [_row(db, row_id).provider_id for row_id in ids] == [
        f"250 queued as {row_id}" for row_id in ids
    ]
    assert len(commits) == 2  # the claim, then the marks: no turn per answer
    assert deliverer.unmarked == set() and deliverer.held == {}
