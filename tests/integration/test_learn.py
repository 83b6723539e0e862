"""The classifier in the pipeline, retraining, the weekly job and the `kb`/`learn` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from tests.integration.desk_harness import Harness
from tests.support import make_mail, reply_to
from tiket.cli import main
from tiket.config import Settings
from tiket.gateway.scheduler import run_job
from tiket.learn.index import SimilarityIndex
from tiket.learn.training import retrain
from tiket.model import Event, Ticket
from tiket.model.db import Database
from tiket.model.learn import LearnedModel, Solution
from tiket.reports.jobs import job_specs

TECH = "wayan@diskominfo.example"
# History words that are no category's keyword: only a trained model can route by them.
GATE = ["gerbang", "pos jaga", "parkir", "pintu timur", "lobi", "halaman depan"]
FLOOR = ["lantai tiga", "ruang rapat", "aula", "meja staf", "gedung B", "bagian umum"]
UNSEEN = ("Pengawasan gerbang parkir", "Pengawasan di gerbang dan parkir gelap sejak pagi.")


@pytest.fixture
def learn_settings(settings: Settings) -> Settings:
    return replace(
        settings, learn=replace(settings.learn, classify_threshold=0.5, min_training_tickets=10)
    )


@pytest.fixture
def desk(db: Database, learn_settings: Settings) -> Iterator[Harness]:
    harness = Harness(db, learn_settings)
    harness.add_technician(TECH)
    yield harness


def add_history(desk: Harness, keyword: str, places: list[str], rounds: int = 2) -> None:
    for n in range(rounds):
        for place in places:
            desk.deliver(
                make_mail(
                    sender=f"staf{n}@dinas.example",
                    subject=f"{keyword} {place}",
                    body=f"Pengawasan {keyword} di {place} gelap, mohon dicek ({n}).",
                )
            )


def open_unseen(desk: Harness) -> dict[str, object]:
    desk.deliver(make_mail(sender="sari@dinas.example", subject=UNSEEN[0], body=UNSEEN[1]))
    return desk.ticket()


def learned_trace(db: Database, number: object) -> list[str]:
    with db.session() as session:
        ticket_id = session.scalar(select(Ticket.id).where(Ticket.number == number))
        events = session.scalars(select(Event).where(Event.ticket_id == ticket_id)).all()
    return [
        f"{d['outcome']}: {d['detail']}"
        for e in events
        for d in e.data.get("trace", [])
        if d["stage"] == "learned"
    ]


def test_classifier_is_the_fallback_and_retraining_changes_it(
    desk: Harness, db: Database, learn_settings: Settings
) -> None:
    add_history(desk, "cctv", GATE)
    add_history(desk, "wifi", FLOOR)
    ticket = open_unseen(desk)
    assert ticket["category"] == "others"
    assert learned_trace(db, ticket["number"]) == ["none: no trained classifier"]

    trained = retrain(db, learn_settings)
    assert trained.categories == {"cctv": 12, "network": 12}
    ticket = open_unseen(desk)
    assert ticket["category"] == "cctv", learned_trace(db, ticket["number"])
    (decision,) = learned_trace(db, ticket["number"])
    assert decision.startswith("hit: cctv at ")

    # A rule that matched is never second-guessed by the model.
    desk.deliver(make_mail(subject="wifi gerbang", body="Pengawasan wifi di gerbang gelap."))
    assert desk.ticket()["category"] == "network"
    assert learned_trace(db, desk.ticket()["number"]) == []

    # The history changes (the gate's surveillance is now the network team's): retrain, and the
    # same words go elsewhere, in this process, without a restart.
    add_history(desk, "wifi", [f"{p} pengawasan" for p in GATE], rounds=5)
    # The tickets the model categorised itself are not evidence: the rules' ones are (42 + 1).
    assert retrain(db, learn_settings).categories == {"cctv": 12, "network": 43}
    ticket = open_unseen(desk)
    assert ticket["category"] == "network", learned_trace(db, ticket["number"])


def test_below_the_threshold_the_ticket_stays_others(
    db: Database, learn_settings: Settings
) -> None:
    strict = replace(learn_settings, learn=replace(learn_settings.learn, classify_threshold=0.999))
    desk = Harness(db, strict)
    add_history(desk, "cctv", GATE)
    add_history(desk, "wifi", FLOOR)
    retrain(db, strict)
    ticket = open_unseen(desk)
    assert ticket["category"] == "others"
    (decision,) = learned_trace(db, ticket["number"])
    assert decision.startswith("low: cctv at ") and "stays others" in decision


def test_training_refuses_a_thin_history(db: Database, learn_settings: Settings) -> None:
    from tiket.errors import Conflict

    with pytest.raises(Conflict, match="training needs 10"):
        retrain(db, learn_settings)


def test_weekly_job_retrains(desk: Harness, db: Database, learn_settings: Settings) -> None:
    spec = job_specs(learn_settings)["learn-train"]
    first = run_job(db, learn_settings, b"s", spec)
    assert first.state == "done" and first.result.startswith("not trained: only 0")
    add_history(desk, "cctv", GATE)
    add_history(desk, "wifi", FLOOR)
    again = run_job(db, learn_settings, b"s", spec, force=True)
    assert again.state == "done" and again.result.startswith("model "), again.result
    with db.session() as session:
        assert len(session.scalars(select(LearnedModel.id)).all()) == 1


def test_index_of_another_daemon_sees_changes(desk: Harness, db: Database) -> None:
    """Two processes' indexes on one database: each sees solutions the other's desk wrote."""
    other = SimilarityIndex()
    desk.deliver(make_mail(subject="VPN putus", body="VPN kantor putus terus."))
    _, notify = desk.new_mail()
    desk.deliver(reply_to(notify.as_bytes(), sender=TECH, body="MTU diturunkan.\n#resolve"))
    with db.session() as session:
        assert other.refresh(session) == 1
        assert [f.score > 0 for f in other.search("vpn putus", 3)] == [True]
        solution = session.scalars(select(Solution)).one()
        solution.hidden = True
        from tiket.model import utcnow

        solution.updated_at = utcnow()
    with db.session() as session:
        assert other.refresh(session) == 1
        assert other.search("vpn putus", 3) == []


# -- the commands -------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, learn_settings: Settings) -> CliRunner:
    config = tmp_path / "tiket.toml"
    config.write_text(
        f'[paths]\nvar = "{learn_settings.paths.var}"\n'
        f'[database]\nurl = "{learn_settings.database_url}"\n'
        '[mail]\naddress = "helpdesk@tiket.test"\nsecret = "test-secret"\n'
        "[learn]\nmin_training_tickets = 10\n"
    )
    return CliRunner(env={"TIKET_CONFIG": str(config)})


def run(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_kb_and_solution_commands(desk: Harness, db: Database, cli: CliRunner) -> None:
    desk.deliver(make_mail(subject="VPN putus", body="VPN kantor putus terus."))
    number = str(desk.ticket()["number"])
    assert "no solutions yet" in run(cli, "kb", "list").output
    run(cli, "tickets", "solution", number, "MTU klien VPN 1400.")
    run(cli, "tickets", "solution", "TKT-0000-0000", "x", code=1)
    (row,) = json.loads(run(cli, "kb", "list", "--json").output)
    assert (row["ticket"], row["source"], row["solution"]) == (
        number,
        "marked",
        "MTU klien VPN 1400.",
    )
    run(cli, "kb", "edit", str(row["id"]), "MTU 1400 dan profil baru.")
    shown = run(cli, "kb", "show", str(row["id"])).output
    assert "MTU 1400 dan profil baru." in shown and "VPN kantor putus terus." in shown
    run(cli, "kb", "hide", str(row["id"]))
    assert json.loads(run(cli, "kb", "list", "--hidden", "--json").output)[0]["hidden"] is True
    assert "no solution 999" in run(cli, "kb", "show", "999", code=1).stderr
    run(cli, "kb", "edit", str(row["id"]), "   ", code=1)
    with db.session() as session:
        assert session.scalars(select(Solution.body)).one() == "MTU 1400 dan profil baru."


def test_learn_train_and_evaluate(desk: Harness, cli: CliRunner) -> None:
    assert "training needs 10" in run(cli, "learn", "train", code=1).stderr
    add_history(desk, "cctv", GATE)
    add_history(desk, "wifi", FLOOR)
    assert run(cli, "learn", "train").output.startswith("trained model ")
    report = run(cli, "learn", "evaluate").output
    assert "accuracy:" in report and "confusion" in report and "cctv" in report
    data = json.loads(run(cli, "learn", "evaluate", "--json").output)
    assert data["tested_on"] + data["trained_on"] == 24
    assert sum(map(sum, data["confusion"])) == data["tested_on"]
    assert set(data["labels"]) == {"cctv", "network"}
    run(cli, "learn", "evaluate", "--test-share", "0.9", code=1)
