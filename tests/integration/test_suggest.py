"""Similar solved tickets in the acknowledgement: threshold, hidden solutions, "selesai N"."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from tests.integration.desk_harness import Harness
from tests.support import body_text, make_mail, reply_to
from tiket.config import Settings
from tiket.learn import solutions
from tiket.model import Event, Ticket
from tiket.model.db import Database
from tiket.model.learn import Solution, Suggestion

TECH = "wayan@diskominfo.example"
WIFI_FIX = "Access point di lantai 2 kami restart dan kanal diganti ke 36; wifi normal kembali."
PRINTER_FIX = "Driver printer kami pasang ulang dari share \\\\files\\drivers, printer jalan lagi."


@pytest.fixture
def desk(db: Database, settings: Settings) -> Iterator[Harness]:
    harness = Harness(db, settings)
    harness.add_technician(TECH)
    yield harness


def solve(desk: Harness, subject: str, body: str, reply: str, *, sender: str) -> str:
    """A ticket opened, answered by the technician with the reply, and resolved."""
    desk.deliver(make_mail(sender=sender, subject=subject, body=body))
    number = str(desk.ticket()["number"])
    _, notify = desk.new_mail()
    desk.deliver(reply_to(notify.as_bytes(), sender=TECH, body=f"{reply}\n#resolve"))
    desk.new_mail()
    return number


def open_new(desk: Harness, subject: str, body: str) -> tuple[str, EmailMessage, EmailMessage]:
    desk.deliver(make_mail(sender="Sari <sari@dinas.example>", subject=subject, body=body))
    number = str(desk.ticket()["number"])
    ack, notify = desk.new_mail()
    return number, ack, notify


def trace_of(db: Database, number: str, stage: str) -> list[str]:
    with db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        events = session.scalars(select(Event).where(Event.ticket_id == ticket.id)).all()
    return [
        f"{d['outcome']}: {d['detail']}"
        for e in events
        for d in e.data.get("trace", [])
        if d["stage"] == stage
    ]


def history(desk: Harness) -> tuple[str, str]:
    wifi = solve(
        desk,
        "Wifi lantai 2 mati",
        "Wifi di lantai 2 kantor dinas tidak bisa konek sejak pagi, access point lampunya merah.",
        WIFI_FIX,
        sender="Budi <budi@dinas.example>",
    )
    printer = solve(
        desk,
        "Printer tidak bisa mencetak",
        "Printer di ruang sekretariat tidak mau mencetak, muncul driver unavailable.",
        PRINTER_FIX,
        sender="Ani <ani@dinas.example>",
    )
    return wifi, printer


def test_suggestion_in_ack_above_threshold_and_not_below(desk: Harness, db: Database) -> None:
    wifi, _ = history(desk)
    number, ack, notify = open_new(
        desk, "wifi mati", "Wifi lantai 2 tidak bisa konek, lampu access point merah."
    )
    text = body_text(ack)
    assert WIFI_FIX in text
    assert PRINTER_FIX not in text
    assert 'balas "selesai"' in text
    assert wifi in body_text(notify) and f"/status/{wifi}" in body_text(notify)
    assert any(t.startswith(f"hit: {wifi}") for t in trace_of(db, number, "suggest"))

    number, ack, notify = open_new(
        desk, "CCTV gerbang", "Kamera CCTV di gerbang depan tidak merekam sejak kemarin."
    )
    assert 'selesai" jika salah' not in body_text(ack)
    assert WIFI_FIX not in body_text(ack) and PRINTER_FIX not in body_text(ack)
    assert wifi not in body_text(notify)
    assert not trace_of(db, number, "suggest")[0].startswith("hit")
    with db.session() as session:
        assert session.scalars(select(Suggestion)).all()[0].solution_id is not None
        assert len(session.scalars(select(Suggestion)).all()) == 1


def test_hidden_solution_is_never_suggested(desk: Harness, db: Database) -> None:
    wifi, _ = history(desk)
    ask = ("wifi mati", "Wifi lantai 2 tidak bisa konek, lampu access point merah.")
    _, ack, _ = open_new(desk, *ask)
    assert WIFI_FIX in body_text(ack)  # the index holds it now: hiding must reach it
    with db.session() as session:
        ticket_id = session.scalar(select(Ticket.id).where(Ticket.number == wifi))
        solution = session.scalars(select(Solution).where(Solution.ticket_id == ticket_id)).one()
        solutions.set_hidden(session, solution.id, True)
    _, ack, notify = open_new(desk, *ask)
    assert WIFI_FIX not in body_text(ack)
    assert wifi not in body_text(notify)
    with db.session() as session:
        solutions.set_hidden(session, solution.id, False)
    _, ack, _ = open_new(desk, *ask)
    assert WIFI_FIX in body_text(ack)


def test_last_technician_reply_serves_and_marked_solution_wins(desk: Harness, db: Database) -> None:
    history(desk)
    with db.session() as session:
        rows = {s.body: s.source for s in session.scalars(select(Solution))}
    assert rows == {WIFI_FIX: "reply", PRINTER_FIX: "reply"}
    desk.deliver(make_mail(subject="VPN putus", body="VPN kantor putus terus tiap 5 menit."))
    _, notify = desk.new_mail()
    desk.deliver(
        reply_to(
            notify.as_bytes(),
            sender=TECH,
            body="Sudah kami cek, mohon dicoba lagi.\n"
            "#solution MTU klien VPN diturunkan ke 1400.\n#resolve",
        )
    )
    with db.session() as session:
        marked = session.scalars(select(Solution).where(Solution.source == "marked")).one()
    assert marked.body == "MTU klien VPN diturunkan ke 1400."
    desk.new_mail()
    _, ack, _ = open_new(desk, "VPN putus", "Koneksi VPN kantor putus terus.")
    assert "MTU klien VPN diturunkan ke 1400." in body_text(ack)
    assert "mohon dicoba lagi" not in body_text(ack)


@pytest.mark.parametrize(
    ("answer", "rank", "outcome"),
    [("selesai 1, terima kasih", 1, "helped"), ("selesai", 1, "accepted")],
)
def test_selesai_after_suggestion_closes_and_records_which_helped(
    desk: Harness, db: Database, answer: str, rank: int, outcome: str
) -> None:
    history(desk)
    number, ack, _ = open_new(
        desk, "wifi mati", "Wifi lantai 2 tidak bisa konek, lampu access point merah."
    )
    desk.deliver(reply_to(ack.as_bytes(), sender="sari@dinas.example", body=answer))
    assert desk.ticket(number)["status"] == "closed"
    with db.session() as session:
        ticket_id = session.scalar(select(Ticket.id).where(Ticket.number == number))
        offered = session.scalars(
            select(Suggestion).where(Suggestion.ticket_id == ticket_id).order_by(Suggestion.rank)
        ).all()
        helped = [s for s in offered if s.outcome != "offered"]
        assert [(s.rank, s.outcome) for s in helped] == [(rank, outcome)]
        body = session.get(Solution, helped[0].solution_id)
        assert body is not None and body.body == WIFI_FIX
        kinds = set(session.scalars(select(Event.kind).where(Event.ticket_id == ticket_id)))
    assert f"suggestion_{outcome}" in kinds


def test_a_deleted_ticket_takes_its_solution_out_of_the_suggestions(
    desk: Harness, db: Database
) -> None:
    wifi, _ = history(desk)
    ask = ("wifi mati", "Wifi lantai 2 tidak bisa konek, lampu access point merah.")
    _, ack, _ = open_new(desk, *ask)
    assert WIFI_FIX in body_text(ack)
    with db.session() as session:  # an erasure: no solution row is left to announce it
        session.delete(session.scalars(select(Ticket).where(Ticket.number == wifi)).one())
    number, ack, _ = open_new(desk, *ask)
    assert WIFI_FIX not in body_text(ack)
    assert desk.ticket(number)["status"] == "new"
