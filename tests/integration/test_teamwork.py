"""Rules in the pipeline, technician commands by mail, authentication, watchers, follow-ups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import TEAM_MAILBOX
from tests.integration.desk_harness import Harness
from tests.support import body_text, make_mail, reply_to
from tiket.config import Settings
from tiket.model import Team, Ticket, utcnow
from tiket.model.db import Database
from tiket.rules import book
from tiket.rules.ruleset import RuleSpec

TECH = "wayan@diskominfo.example"
NET_TECH = "made@diskominfo.example"
NET_MAILBOX = "tim-jaringan@diskominfo.example"


@pytest.fixture
def desk(db: Database, settings: Settings) -> Iterator[Harness]:
    harness = Harness(db, settings)
    with db.session() as session:
        session.add(Team(name="network", title="Tim Jaringan", mailbox=NET_MAILBOX, managers=[]))
    harness.add_technician(TECH)
    harness.add_technician(NET_TECH, team="network", name="Made")
    yield harness


def open_ticket(desk: Harness, **mail: str) -> tuple[str, object, object]:
    desk.deliver(make_mail(**mail))
    number = desk.ticket()["number"]
    ack, notify = desk.new_mail()
    return number, ack, notify


def add_rule(db: Database, spec: RuleSpec) -> None:
    with db.session() as session:
        book.add(session, spec)


def test_rule_actions_route_and_are_traced(desk: Harness, db: Database) -> None:
    add_rule(
        db,
        RuleSpec(
            name="cctv to network",
            position=1,
            match={
                "all": [
                    {"field": "text", "keywords": ["cctv"]},
                    {"not": {"field": "sender_domain", "equals": "test.example"}},
                ]
            },
            actions={"team": "network", "priority": "high", "watchers": ["kabid@dinas.example"]},
        ),
    )
    desk.deliver(make_mail(subject="CCTV lobby mati", body="Kamera CCTV di lobby tidak merekam."))
    ticket = desk.ticket()
    assert (ticket["category"], ticket["team"], ticket["priority"]) == ("cctv", "network", "high")
    trace = next(e for e in ticket["events"] if e["kind"] == "opened")["data"]["trace"]
    details = [s["detail"] for s in trace if s["stage"] == "rule" and s["outcome"] == "hit"]
    assert any(d.startswith("cctv to network: team=network") for d in details)
    assert any(d.startswith("category cctv: category=cctv") for d in details)
    misses = [s["detail"] for s in trace if s["stage"] == "rule" and s["outcome"] == "miss"]
    assert "category network: no match" in misses
    _, notify = desk.new_mail()
    assert notify["To"] == NET_MAILBOX


def test_stop_rule_decides_and_spam_closes_silently(desk: Harness, db: Database) -> None:
    add_rule(
        db,
        RuleSpec(
            name="spam",
            position=1,
            stop=True,
            match={"field": "subject", "regex": r"\bjudi\s+online\b"},
            actions={"spam": True},
        ),
    )
    outcome = desk.deliver(make_mail(subject="Promo JUDI online wifi gratis"))
    assert outcome[0].endswith("closed it as spam")
    ticket = desk.ticket()
    assert ticket["status"] == "closed"
    assert ticket["category"] == "others"  # the stop rule ended the evaluation
    assert desk.new_mail() == []


PASSWORD_RULE = RuleSpec(
    name="password",
    match={"field": "text", "keywords": ["lupa password"]},
    actions={"answer": "password-reset"},
)


def test_auto_answer_with_a_template(desk: Harness, db: Database) -> None:
    add_rule(db, PASSWORD_RULE)
    desk.deliver(make_mail(subject="Lupa password email dinas", body="Saya lupa password."))
    mails = desk.new_mail()
    assert [m["To"] for m in mails] == ["budi@dinas.example", "budi@dinas.example", TEAM_MAILBOX]
    assert "kata sandi" in str(mails[1]["Subject"])


def test_mailbox_team_routes_unless_a_rule_says_otherwise(desk: Harness) -> None:
    from tiket.inbound.store import Arrival, mail_key

    raw = make_mail(subject="Printer", body="printer macet")
    desk.store.accept(
        Arrival(raw=raw, channel="email", idempotency_key=mail_key(raw), meta={"team": "network"})
    )
    desk.process()
    assert desk.ticket()["team"] == "network"


def test_technician_commands_by_mail(desk: Harness) -> None:
    number, _, notify = open_ticket(desk)
    reply = reply_to(
        notify.as_bytes(),
        sender=TECH,  # type: ignore[attr-defined]
        body="#priority urgent\n#assign Wayan\n#share network\nSedang kami cek.",
    )
    desk.deliver(reply)
    ticket = desk.ticket(number)
    assert ticket["priority"] == "urgent"
    assert ticket["assignee"] == TECH
    mails = desk.new_mail()
    assert {m["To"] for m in mails} == {"budi@dinas.example", NET_MAILBOX}
    shared_note = next(m for m in mails if m["To"] == NET_MAILBOX)
    # The shared team can answer and act from its own notification.
    desk.deliver(
        reply_to(shared_note.as_bytes(), sender=NET_TECH, body="Switch diganti.\n#resolve")
    )
    ticket = desk.ticket(number)
    assert ticket["status"] == "resolved"
    assert ticket["entries"][-1]["author"] == NET_TECH
    assert any(m["To"] == "budi@dinas.example" for m in desk.new_mail())


def test_forward_hands_the_ticket_to_another_team(desk: Harness) -> None:
    number, _, notify = open_ticket(desk)
    desk.deliver(
        reply_to(
            notify.as_bytes(),
            sender=TECH,  # type: ignore[attr-defined]
            body="#forward network\n#note\nIni urusan tim jaringan.",
        )
    )
    ticket = desk.ticket(number)
    assert ticket["team"] == "network"
    assert ticket["entries"][-1]["kind"] == "note"
    (handover,) = desk.new_mail()
    assert handover["To"] == NET_MAILBOX
    assert "Ini urusan tim jaringan" in body_text(handover)
    # The old team's notification no longer lets its members act.
    desk.deliver(reply_to(notify.as_bytes(), sender=TECH, body="#close"))  # type: ignore[attr-defined]
    assert desk.ticket(number)["status"] != "closed"


def test_failed_command_is_explained_and_the_rest_runs(desk: Harness) -> None:
    number, _, notify = open_ticket(desk)
    desk.deliver(
        reply_to(
            notify.as_bytes(),
            sender=TECH,  # type: ignore[attr-defined]
            body="#forward nosuchteam\n#priority high\nOke.",
        )
    )
    assert desk.ticket(number)["priority"] == "high"
    mails = desk.new_mail()
    failed = next(m for m in mails if m["To"] == TECH)
    assert "nosuchteam" in body_text(failed)


def test_merge_by_mail_moves_history_and_threads(desk: Harness) -> None:
    first, first_ack, _ = open_ticket(desk, subject="Wifi mati lantai 1")
    second, _, notify2 = open_ticket(
        desk, subject="Wifi mati lantai 2", sender="Ayu <ayu@dinas.example>"
    )
    desk.deliver(reply_to(notify2.as_bytes(), sender=TECH, body=f"#merge {first}"))  # type: ignore[attr-defined]
    merged = desk.ticket(second)
    target = desk.ticket(first)
    assert merged["status"] == "closed" and merged["entries"] == []
    assert len(target["entries"]) == 2
    # A later reply to the merged ticket's mail lands on the target.
    desk.deliver(reply_to(first_ack.as_bytes(), sender="budi@dinas.example", body="Masih mati."))  # type: ignore[attr-defined]
    assert len(desk.ticket(first)["entries"]) == 3


def test_requester_cannot_forge_a_technician_on_their_own_thread(desk: Harness) -> None:
    number, ack, _ = open_ticket(desk)
    # The requester's signed address is not the team's: a forged From gains nothing.
    forged = reply_to(ack.as_bytes(), sender=TECH, body="#close")  # type: ignore[attr-defined]
    desk.deliver(forged)
    assert desk.ticket(number)["status"] == "new"
    assert desk.ticket(number)["entries"][-1]["kind"] == "note"


def test_technician_of_another_team_cannot_act(desk: Harness) -> None:
    number, _, notify = open_ticket(desk)
    desk.deliver(reply_to(notify.as_bytes(), sender=NET_TECH, body="#close"))  # type: ignore[attr-defined]
    assert desk.ticket(number)["status"] == "new"


@pytest.mark.parametrize(
    ("results", "runs"),
    [
        ("mx.diskominfo.example; dkim=pass header.d=diskominfo.example; spf=fail", True),
        ("mx.diskominfo.example; dkim=none; spf=pass smtp.mailfrom=wayan@diskominfo.example", True),
        ("mx.diskominfo.example; dkim=fail header.d=diskominfo.example; spf=softfail", False),
        (
            "mx.diskominfo.example; dkim=pass header.d=evil.example; "
            "spf=pass smtp.mailfrom=x@evil.example",
            False,
        ),
    ],
)
def test_dkim_or_spf_must_pass_when_our_server_checked(
    desk: Harness, results: str, runs: bool
) -> None:
    number, _, notify = open_ticket(desk)
    raw = reply_to(notify.as_bytes(), sender=TECH, body="#close")  # type: ignore[attr-defined]
    raw = f"Authentication-Results: {results}\r\n".encode() + raw
    desk.deliver(raw)
    assert (desk.ticket(number)["status"] == "closed") is runs


def test_cc_become_watchers_who_get_replies_and_can_answer(desk: Harness) -> None:
    number, _, notify = open_ticket(desk, to="helpdesk@tiket.test")
    desk.deliver(
        make_mail(
            sender="budi@dinas.example",
            subject=f"Re: [{number}] tambahan",
            body="Kabid saya ikut memantau.",
            headers={"Cc": "Kabid <kabid@dinas.example>, wayan@diskominfo.example"},
        )
    )
    desk.new_mail()
    desk.deliver(reply_to(notify.as_bytes(), sender=TECH, body="Sudah kami perbaiki."))  # type: ignore[attr-defined]
    recipients = sorted(m["To"] for m in desk.new_mail())
    assert recipients == ["budi@dinas.example", "kabid@dinas.example"]  # never the technician
    desk.deliver(
        make_mail(
            sender="kabid@dinas.example",
            subject=f"Re: [{number}]",
            body="Terima kasih, sudah normal.",
        )
    )
    assert desk.ticket(number)["entries"][-1]["author"] == "kabid@dinas.example"


def test_reply_to_a_long_closed_ticket_opens_a_linked_one(desk: Harness, db: Database) -> None:
    number, ack, _ = open_ticket(desk)
    desk.deliver(reply_to(ack.as_bytes(), sender="budi@dinas.example", body="selesai"))  # type: ignore[attr-defined]
    desk.new_mail()
    with db.session() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.number == number)
            .values(closed_at=utcnow() - timedelta(days=30))
        )
    outcome = desk.deliver(
        reply_to(
            ack.as_bytes(),
            sender="budi@dinas.example",  # type: ignore[attr-defined]
            body="Wifi mati lagi.",
        )
    )
    assert outcome[0].startswith("opened TKT-") and outcome[0].endswith(
        f"following closed {number}"
    )
    assert desk.ticket(number)["status"] == "closed"
    new = desk.ticket()
    assert new["number"] != number and new["team"] == "support"
    assert any(e["kind"] == "follows" for e in new["events"])
    with db.session() as session:
        assert session.scalar(select(Ticket.follows_id).where(Ticket.number == new["number"]))


def test_a_rule_sharing_with_the_owning_team_does_not_fail(desk: Harness, db: Database) -> None:
    add_rule(
        db,
        RuleSpec(
            name="share-net",
            match={"field": "text", "keywords": ["wifi"]},
            actions={"team": "network", "shares": ["network", "support"]},
        ),
    )
    outcome = desk.deliver(make_mail())
    assert outcome[0].startswith("opened ")
    ticket = desk.ticket()
    assert ticket["team"] == "network"
    assert [e["data"]["team"] for e in ticket["events"] if e["kind"] == "shared"] == ["support"]
