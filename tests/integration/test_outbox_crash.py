"""A deliverer killed mid-round: what the smarthost accepted is not sent again, the rest goes now.

The state a SIGKILL leaves is reproduced exactly (rows claimed and committed, one mail accepted
by the smarthost, its journal line written, its database mark never made), then a new
deliverer, as in the restarted daemon, runs one round against a real SMTP sink.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, update

from tests.conftest import free_port
from tests.support import Sink, SinkServer, make_mail, queue_answers
from tiket.config import Settings
from tiket.errors import DatabaseUnavailable, TemporaryError
from tiket.gateway.workers import Deliverer
from tiket.model import OutboxMessage, OutboxState
from tiket.model.db import Database
from tiket.outbound import outbox
from tiket.outbound.email import SmtpSender
from tiket.outbound.journal import Journal


@pytest.fixture
def smarthost() -> Iterator[tuple[Sink, int]]:
    port = free_port()
    with SinkServer(port) as sink:
        yield sink, port


def _sender(port: int) -> SmtpSender:
    return SmtpSender("127.0.0.1", port, envelope_from="helpdesk@tiket.test", timeout=10)


def _queue(db: Database, count: int) -> list[int]:
    return queue_answers(db, count, tag="crash")


def _journal(settings: Settings) -> Journal:
    return Journal(settings.var_dir / "deliverer.journal")


def _states(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMessage.state).order_by(OutboxMessage.id)))


def _received(sink: Sink) -> list[str]:
    """The Message-IDs the smarthost accepted, one per delivery."""
    with sink.lock:
        raws = [raw for _, _, raw in sink.messages]
    return sorted(message_from_bytes(raw)["Message-ID"] for raw in raws)


def test_restart_neither_resends_the_accepted_one_nor_waits_for_the_lease(
    db: Database, settings: Settings, smarthost: tuple[Sink, int]
) -> None:
    sink, port = smarthost
    _queue(db, 3)
    # The dead daemon's round: three rows claimed, the first accepted by the smarthost.
    rows = outbox.claim(db, ["email"])
    dead = _journal(settings)
    dead.claimed(rows)
    sender = _sender(port)
    sender.send(rows[0])
    sender.close()
    dead.sent(rows[0].id)
    dead.close()
    assert _states(db) == ["sending"] * 3

    Deliverer(db, settings, _sender(port)).work()

    assert _states(db) == ["sent"] * 3
    assert _received(sink) == [f"<crash-{n}@tiket.test>" for n in range(3)]
    assert (settings.var_dir / "deliverer.journal").stat().st_size == 0


def test_a_row_another_worker_took_since_is_left_to_it(
    db: Database, settings: Settings, smarthost: tuple[Sink, int]
) -> None:
    sink, port = smarthost
    (row_id,) = _queue(db, 1)
    dead = _journal(settings)
    dead.claimed(outbox.claim(db, ["email"]))
    dead.close()
    # Past the lease, another daemon claimed it again and is sending it now.
    with db.session() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(attempts=2))

    Deliverer(db, settings, _sender(port)).work()

    assert _states(db) == [OutboxState.SENDING]
    assert sink.messages == []


def _journal_on_a_full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    full = OSError(28, "No space left on device")
    monkeypatch.setattr("tiket.outbound.journal.os.write", lambda *_: (_ for _ in ()).throw(full))


def _failing(error: BaseException) -> Callable[..., Any]:
    def fail(*args: object, **kwargs: object) -> Any:
        raise error

    return fail


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "deliverer.journal"
    path.write_text("c 5 1\nc 6 2 2026-11-28T10:00:00.000001+00:00\ns 5\nc 7 1 2026-11-2")
    pending = Journal(path).pending()
    assert pending.sent == {5}
    stamp = datetime(2026, 11, 28, 10, 0, 0, 1, tzinfo=UTC)
    assert pending.claimed == {5: outbox.Claim(1), 6: outbox.Claim(2, stamp)}


def test_claims_are_journaled_with_their_stamp_before_they_commit(
    db: Database, settings: Settings
) -> None:
    _queue(db, 2)
    journal = _journal(settings)
    seen: list[list[str]] = []
    outside = create_engine(settings.database_url)  # a plain reader, as another process

    def journal_it(rows: list[OutboxMessage]) -> None:
        journal.claimed(rows)
        with outside.connect() as conn:  # the claim is not committed yet
            seen.append(list(conn.scalars(select(OutboxMessage.state).order_by(OutboxMessage.id))))

    rows = outbox.claim(db, ["email"], before_commit=journal_it)
    journal.close()
    outside.dispose()
    assert seen == [["queued", "queued"]]
    assert journal.pending().claimed == {
        row.id: outbox.Claim(row.attempts, row.next_attempt_at) for row in rows
    }


def test_a_journaled_claim_that_never_committed_does_not_release_another_workers_claim(
    db: Database, settings: Settings, smarthost: tuple[Sink, int]
) -> None:
    sink, port = smarthost
    (row_id,) = _queue(db, 1)
    journal = _journal(settings)

    def journal_then_die(rows: list[OutboxMessage]) -> None:
        journal.claimed(rows)
        raise Died  # killed before the commit: the claim rolls back

    with pytest.raises(Died):
        outbox.claim(db, ["email"], before_commit=journal_then_die)
    journal.close()
    assert _states(db) == ["queued"]
    # Before the restart, another daemon claims the row: the same attempts, its own stamp.
    (theirs,) = outbox.claim(db, ["email"])
    assert theirs.attempts == 1

    Deliverer(db, settings, _sender(port)).work()  # the restarted daemon settles its journal

    assert _states(db) == ["sending"]  # left to the other daemon, not put back to send twice
    assert sink.messages == []
    with db.session() as session:
        assert session.get(OutboxMessage, row_id).attempts == 1  # type: ignore[union-attr]


def test_a_full_disk_after_the_smarthost_accepted_does_not_send_it_again(
    db: Database,
    settings: Settings,
    smarthost: tuple[Sink, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The journal cannot be written and the database mark fails: the daemon still knows."""
    sink, port = smarthost
    _queue(db, 2)
    deliverer = Deliverer(db, settings, _sender(port))
    _journal_on_a_full_disk(monkeypatch)

    monkeypatch.setattr(
        outbox,
        "mark_sent_many",
        _failing(DatabaseUnavailable("the disk holding the database is full")),
    )
    with pytest.raises(DatabaseUnavailable):
        deliverer.work()
    taken = ["<crash-0@tiket.test>", "<crash-1@tiket.test>"]
    assert _received(sink) == taken
    assert _states(db) == ["sending", "sending"]

    monkeypatch.undo()  # space freed
    deliverer.work()

    assert _states(db) == ["sent", "sent"]
    assert _received(sink) == taken
    assert deliverer.unmarked == set() and deliverer.held == {}


class RefusingOnce:
    """Takes the first mail, answers 451 to the second once, then takes everything."""

    def __init__(self, port: int) -> None:
        self.inner = _sender(port)
        self.refused = False

    def send(self, row: OutboxMessage) -> str | None:
        if row.message_id == "<crash-1@tiket.test>" and not self.refused:
            self.refused = True
            raise TemporaryError("451 try again later")
        return self.inner.send(row)

    def close(self) -> None:
        self.inner.close()


def test_a_round_cut_by_the_database_marks_what_went_and_puts_back_what_did_not(
    db: Database,
    settings: Settings,
    smarthost: tuple[Sink, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink, port = smarthost
    _queue(db, 2)
    deliverer = Deliverer(db, settings, RefusingOnce(port))  # type: ignore[arg-type]
    _journal_on_a_full_disk(monkeypatch)

    monkeypatch.setattr(
        outbox,
        "mark_failed",
        _failing(DatabaseUnavailable("database unavailable: connection refused")),
    )
    with pytest.raises(DatabaseUnavailable):
        deliverer.work()
    assert _received(sink) == ["<crash-0@tiket.test>"]
    assert deliverer.unmarked and deliverer.held

    monkeypatch.undo()
    deliverer.work()  # settles: the first is marked sent, the second put back and sent now

    assert _states(db) == ["sent", "sent"]
    assert _received(sink) == ["<crash-0@tiket.test>", "<crash-1@tiket.test>"]


class Died(BaseException):
    """A SIGKILL at one instant, as far as the dying deliverer's code can tell."""


def test_death_after_the_data_was_handed_over_does_not_send_it_again(
    db: Database, settings: Settings, smarthost: tuple[Sink, int]
) -> None:
    sink, port = smarthost
    _queue(db, 2)
    sender = _sender(port)
    dead = Deliverer(db, settings, sender)
    hand_over = sender.hand_over

    def then_die(row_id: int, sock: socket.socket, tail: bytes) -> None:
        hand_over(row_id, sock, tail)  # the dot is sent, the journal line written, then death
        raise Died

    sender.hand_over = then_die
    with pytest.raises(Died):
        dead.work()
    dead.journal.close()
    if sender._smtp is not None:
        sender._smtp.sock.close()  # type: ignore[union-attr]
    for _ in range(500):  # the smarthost still gets what the kernel had been given
        if _received(sink):
            break
        threading.Event().wait(0.01)
    assert _received(sink) == ["<crash-0@tiket.test>"]

    Deliverer(db, settings, _sender(port)).work()  # the restarted daemon

    assert _states(db) == ["sent", "sent"]
    assert _received(sink) == ["<crash-0@tiket.test>", "<crash-1@tiket.test>"]


def test_a_handed_over_message_the_smarthost_refused_is_not_counted_as_sent(
    db: Database, settings: Settings, smarthost: tuple[Sink, int]
) -> None:
    sink, port = smarthost
    sink.refuse = "451 4.3.0 try later"
    _queue(db, 1)
    Deliverer(db, settings, _sender(port)).work()
    assert _states(db) == ["queued"]  # back for a retry, not marked sent
    path = settings.var_dir / "deliverer.journal"
    path.write_text("c 1 1\ns 1\nr 1\n")
    assert Journal(path).pending().sent == set()


def test_lines_starting_with_a_dot_reach_the_smarthost_unchanged(
    smarthost: tuple[Sink, int],
) -> None:
    sink, port = smarthost
    payload = make_mail(message_id="<dots@tiket.test>", body=".\n..two\n.three\nend\n")
    row = OutboxMessage(id=1, recipient="budi@dinas.example", payload=payload)
    handed: list[int] = []
    sender = _sender(port)
    hand_over = sender.hand_over

    def note(row_id: int, sock: socket.socket, tail: bytes) -> None:
        handed.append(row_id)
        hand_over(row_id, sock, tail)

    sender.hand_over = note
    sender.send(row)
    sender.close()
    assert handed == [1]
    ((_, _, raw),) = sink.messages
    assert raw.replace(b"\r\n", b"\n") == payload.replace(b"\r\n", b"\n")


def test_the_final_dot_is_not_held_back_by_nagles_algorithm(
    smarthost: tuple[Sink, int],
) -> None:
    # The dot goes in a write of its own (so that the journal line follows it at once); with
    # Nagle's algorithm it would wait for the ACK of the data, which the smarthost delays.
    _, port = smarthost
    sender = _sender(port)
    sender.send(OutboxMessage(id=1, recipient="budi@dinas.example", payload=make_mail()))
    assert sender._smtp is not None and sender._smtp.sock is not None
    assert sender._smtp.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    sender.close()
