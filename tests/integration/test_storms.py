"""Loop storms: naive autoresponders, hard bounces. Automatic mail stays bounded."""

from __future__ import annotations

from dataclasses import replace

from tests.integration.desk_harness import Harness
from tests.integration.test_conversation import _bounce_for
from tests.integration.test_teamwork import PASSWORD_RULE, add_rule
from tests.support import make_mail
from tiket.config import Settings
from tiket.model.db import Database

ROBOT = "robot@dinas.example"


def test_an_autoresponder_that_changes_its_subject_is_capped(
    db: Database, settings: Settings
) -> None:
    settings = replace(settings, limits=replace(settings.limits, admin_address="admin@tiket.test"))
    desk = Harness(db, settings)
    # Answers every mail, marks nothing as automatic, and invents a new subject each time.
    for round_ in range(25):
        desk.deliver(
            make_mail(
                sender=ROBOT,
                subject=f"Re: your mail #{round_}",
                body="Thank you for your email. I will answer soon.",
            )
        )
    to_robot = desk.outbox(recipient=ROBOT)
    sent = [row for row in to_robot if row.state != "suppressed"]
    held = [row for row in to_robot if row.state == "suppressed"]
    assert len(sent) == settings.limits.per_recipient_window == 10
    assert len(held) == 15
    assert all("automatic mails to robot@dinas.example" in (row.last_error or "") for row in held)
    alerts = desk.outbox(recipient="admin@tiket.test")
    assert len(alerts) == 1  # once, not fifteen times
    assert desk.ticket_count() == 25  # nothing lost: every message is on record


def test_a_hard_bounce_suppresses_the_address(db: Database, settings: Settings) -> None:
    desk = Harness(db, settings)
    desk.deliver(make_mail(sender="gone@dinas.example"))
    ack, _ = desk.new_mail()
    desk.deliver(_bounce_for(ack.as_bytes(), "gone@dinas.example"))
    desk.deliver(make_mail(sender="gone@dinas.example", subject="lagi", body="printer rusak"))
    rows = desk.outbox(recipient="gone@dinas.example")
    assert [row.state for row in rows] == ["queued", "suppressed"]
    assert "hard bounce" in (rows[-1].last_error or "")


def test_the_per_ticket_cap_counts_what_a_new_ticket_queued_in_its_own_processing(
    db: Database, settings: Settings
) -> None:
    # The acknowledgement counts: the auto-answer queued right after it, in the same
    # transaction, is the second automatic mail on the ticket, over a cap of 1, and is held.
    settings = replace(settings, limits=replace(settings.limits, per_ticket_day=1))
    add_rule(db, PASSWORD_RULE)
    desk = Harness(db, settings)
    desk.deliver(make_mail(subject="Lupa password email dinas", body="Saya lupa password."))
    rows = desk.outbox()
    assert [(row.kind, row.state) for row in rows] == [
        ("ack", "queued"),
        ("answer_password-reset", "suppressed"),
        ("team_new", "queued"),
    ]
    assert "automatic mails on this ticket" in (rows[1].last_error or "")
