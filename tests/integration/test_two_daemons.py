"""Several daemons on one database: a shared load, the same mail to both, nothing done twice."""

from __future__ import annotations

import email
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import TEAM_MAILBOX, _truncate_all, free_port
from tests.support import DaemonProcess, SinkServer, make_mail, send, wait_for
from tiket.config import Settings
from tiket.errors import TemporaryError
from tiket.inbound.store import Arrival, InboundStore, mail_key
from tiket.model import Entry, InboundMessage, InboundState, OutboxMessage, OutboxState, Ticket
from tiket.model.db import Database
from tiket.processing import process_one

NEW_MAILS = 40
REPLIES = 20
TWICE = 10  # new mails also delivered, at the same time, to the other daemon


def stored(raw: bytes) -> Arrival:
    return Arrival(raw=raw, channel="email", idempotency_key=mail_key(raw), source="test")


def test_two_stores_taking_one_batch_in_opposite_orders_both_succeed(db_url: str) -> None:
    batch = [stored(make_mail(subject=f"Printer {n}")) for n in range(40)]
    stores = [InboundStore(Database(db_url)), InboundStore(Database(db_url))]
    errors: list[BaseException] = []

    def take(store: InboundStore, arrivals: list[Arrival]) -> None:
        try:
            for _ in range(5):  # the same mails again: duplicates, found by their keys
                store.accept_many(arrivals)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=take, args=(stores[0], batch)),
        threading.Thread(target=take, args=(stores[1], batch[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []  # without one lock order, PostgreSQL found a deadlock here
    with stores[0].db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 40
        ids = session.scalars(select(InboundMessage.id).order_by(InboundMessage.id)).all()
    first = stores[0].accept_many(batch)
    assert [a.duplicate for a in first] == [True] * 40
    assert sorted(a.id for a in first) == list(ids)
    for store in stores:
        store.db.dispose()


def test_an_answer_waits_until_the_mail_it_answers_is_processed(
    db: Database, settings: Settings
) -> None:
    secret = settings.mail.secret.encode()
    parent = make_mail(message_id="<parent@dinas.example>")
    answer = make_mail(subject="Re: Wifi di kantor mati", in_reply_to="<parent@dinas.example>")
    store = InboundStore(db)
    parent_id, answer_id = (store.accept(stored(raw)).id for raw in (parent, answer))

    # another worker holds the parent (or has not reached it): the answer must not open a ticket
    with pytest.raises(TemporaryError, match="not processed yet"):
        process_one(db, settings, secret, answer_id)
    assert process_one(db, settings, secret, parent_id) is not None
    assert process_one(db, settings, secret, answer_id) is not None
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        tickets = session.scalars(select(Entry.ticket_id).where(Entry.direction == "in")).all()
        states = session.scalars(select(InboundMessage.state)).all()
    assert len(tickets) == 2 and len(set(tickets)) == 1
    assert set(states) == {InboundState.DONE}


def test_a_mail_that_names_itself_in_references_is_not_held_back(
    db: Database, settings: Settings
) -> None:
    raw = make_mail(message_id="<self@dinas.example>", in_reply_to="<self@dinas.example>")
    inbound_id = InboundStore(db).accept(stored(raw)).id
    result = process_one(db, settings, settings.mail.secret.encode(), inbound_id)
    assert result is not None and result.startswith("opened")


def write_config(home: Path, db_url: str, smtp_port: int, sink_port: int) -> Path:
    home.mkdir()
    config = home / "tiket.toml"
    config.write_text(
        f"""
[paths]
var = "{home / "var"}"
[database]
url = "{db_url}"
[mail]
address = "helpdesk@tiket.test"
secret = "one-secret-for-all-daemons"
[smtp]
listen = "127.0.0.1:{smtp_port}"
[outbound]
smarthost = "127.0.0.1:{sink_port}"
retry_base_seconds = 0.2
[worker]
poll_seconds = 0.2
[http]
listen = "127.0.0.1:{free_port()}"
[limits]
per_recipient_window = 1000
per_recipient_day = 1000
per_ticket_day = 1000
"""
    )
    return config


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    _truncate_all(postgres_database)
    return postgres_database


@pytest.fixture
def two_daemons(
    tmp_path: Path, postgres_url: str
) -> Iterator[tuple[list[DaemonProcess], list[int], SinkServer]]:
    sink_port = free_port()
    ports = [free_port(), free_port()]
    daemons = [
        DaemonProcess(home, write_config(home, postgres_url, port, sink_port))
        for home, port in zip((tmp_path / "a", tmp_path / "b"), ports, strict=True)
    ]
    daemons[0].tiket("init")
    daemons[0].tiket("teams", "edit", "support", "--mailbox", TEAM_MAILBOX)
    server = SinkServer(sink_port)
    with server:
        try:
            for daemon, port in zip(daemons, ports, strict=True):
                daemon.start(port)
            yield daemons, ports, server
        finally:
            started = [daemon for daemon in daemons if daemon.proc is not None]
            codes = [daemon.stop() for daemon in started]
            assert codes == [0] * len(codes), [d.log.read_text()[-3000:] for d in started]


def test_two_daemons_share_one_postgres_database(
    two_daemons: tuple[list[DaemonProcess], list[int], SinkServer],
    postgres_url: str,
) -> None:
    daemons, ports, server = two_daemons
    sink = server.sink
    new = [
        make_mail(
            sender=f"Pegawai {n} <user{n}@dinas{n % 7}.example>",
            subject=f"Printer lantai {n} rusak",
            body=f"Printer di lantai {n} tidak bisa mencetak sejak pagi.\n",
            message_id=f"<new{n}@dinas.example>",
        )
        for n in range(NEW_MAILS)
    ]
    replies = [
        make_mail(
            sender=f"Pegawai {n} <user{n}@dinas{n % 7}.example>",
            subject=f"Re: Printer lantai {n} rusak",
            body="Masih belum bisa, mohon dicek lagi.\n",
            message_id=f"<reply{n}@dinas.example>",
            in_reply_to=f"<new{n}@dinas.example>",
        )
        for n in range(REPLIES)
    ]
    accepted = [threading.Event() for _ in new]
    errors: list[BaseException] = []

    def deliver(port: int, items: list[tuple[int, bytes]], after_parent: bool) -> None:
        try:
            for n, raw in items:
                if after_parent:  # a reply is written once its parent was sent
                    assert accepted[n].wait(30), f"mail {n} was never accepted"
                send(port, raw, sender=f"user{n}@dinas.example")
                if not after_parent:
                    accepted[n].set()
        except BaseException as exc:
            errors.append(exc)

    # Even mails to the first daemon, odd to the second; each reply to the other daemon than
    # its parent, right after it; the first TWICE mails to both daemons at the same time.
    plans = [
        (ports[0], [(n, raw) for n, raw in enumerate(new) if n % 2 == 0], False),
        (ports[1], [(n, raw) for n, raw in enumerate(new) if n % 2 == 1], False),
        (ports[1], [(n, raw) for n, raw in enumerate(new[:TWICE]) if n % 2 == 0], False),
        (ports[0], [(n, raw) for n, raw in enumerate(new[:TWICE]) if n % 2 == 1], False),
        (ports[1], [(n, raw) for n, raw in enumerate(replies) if n % 2 == 0], True),
        (ports[0], [(n, raw) for n, raw in enumerate(replies) if n % 2 == 1], True),
    ]
    threads = [threading.Thread(target=deliver, args=plan) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []

    db = Database(postgres_url)
    try:

        def settled() -> bool:
            with db.session() as session:
                waiting = session.scalar(
                    select(func.count())
                    .select_from(InboundMessage)
                    .where(InboundMessage.state == InboundState.QUEUED)
                )
                unsent = session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state.in_([OutboxState.QUEUED, OutboxState.SENDING]))
                )
            return waiting == 0 and unsent == 0 and len(sink.messages) >= NEW_MAILS * 2 + REPLIES

        wait_for(settled, timeout=45, what="every mail processed and every answer sent")
        with db.session() as session:
            entries = session.execute(
                select(Entry.id, Entry.ticket_id, Entry.message_id).where(Entry.direction == "in")
            ).all()
            inbound = Counter(session.scalars(select(InboundMessage.state)).all())
            outbox = Counter(session.scalars(select(OutboxMessage.state)).all())
            tickets = session.scalar(select(func.count()).select_from(Ticket))
    finally:
        db.dispose()

    # one entry per mail, one ticket per new mail, every reply on its parent's ticket
    per_mail = Counter(message_id for _, _, message_id in entries)
    assert len(entries) == NEW_MAILS + REPLIES
    assert set(per_mail.values()) == {1}
    ticket_of = {message_id: ticket_id for _, ticket_id, message_id in entries}
    first_entry = {}
    for _, ticket_id, message_id in sorted(entries):
        first_entry.setdefault(ticket_id, message_id)
    assert tickets == NEW_MAILS
    assert sorted(first_entry.values()) == sorted(
        f"<new{n}@dinas.example>" for n in range(NEW_MAILS)
    )
    for n in range(REPLIES):
        assert ticket_of[f"<reply{n}@dinas.example>"] == ticket_of[f"<new{n}@dinas.example>"]
    # nothing left queued or failed: one row per distinct mail, the copies found by their key
    assert inbound == {InboundState.DONE: NEW_MAILS + REPLIES}
    assert set(outbox) == {OutboxState.SENT}

    # each answer reached the sink once: an acknowledgement per new mail, a notice per mail
    with sink.lock:
        received = [email.message_from_bytes(raw) for _, _, raw in sink.messages]
    assert Counter(str(m["Message-ID"]) for m in received).most_common(1)[0][1] == 1
    notices = [m for m in received if TEAM_MAILBOX in str(m["To"])]
    acks = Counter(str(m["In-Reply-To"]) for m in received if TEAM_MAILBOX not in str(m["To"]))
    assert acks == {f"<new{n}@dinas.example>": 1 for n in range(NEW_MAILS)}
    assert len(notices) == NEW_MAILS + REPLIES
    assert len(received) == outbox[OutboxState.SENT]

    # the scheduler ran in one daemon only (the holder of the advisory lock)
    leading = [d for d in daemons if "action=scheduler_leading" in d.log.read_text()]
    assert len(leading) == 1
