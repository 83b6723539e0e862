"""`tiket rules`, `teams`, `technicians` and the ticket verbs, from the CLI alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.support import make_mail
from tiket.cli import main
from tiket.config import Settings

RULES_TOML = """
[[rule]]
name = "vip"
position = 10
enabled = true
stop = true

[rule.match]
field = "sender_domain"
equals = "bupati.example"

[rule.actions]
priority = "urgent"
"""


@pytest.fixture
def cli(tmp_path: Path, settings: Settings) -> CliRunner:
    config = tmp_path / "tiket.toml"
    config.write_text(
        f'[paths]\nvar = "{settings.paths.var}"\n[database]\nurl = "{settings.database_url}"\n'
        '[mail]\naddress = "helpdesk@tiket.test"\nsecret = "s"\n'
    )
    runner = CliRunner(env={"TIKET_CONFIG": str(config)})
    run(runner, "init")
    return runner


def run(cli: CliRunner, *args: str, code: int = 0, input: str | bytes | None = None) -> Result:
    result = cli.invoke(main, list(args), input=input)
    assert result.exit_code == code, (args, result.output, result.stderr, result.exception)
    return result


def rules(cli: CliRunner) -> list[dict[str, object]]:
    return json.loads(run(cli, "rules", "list", "--json").output)  # type: ignore[no-any-return]


def test_seeded_category_rules_are_ordinary_rules(cli: CliRunner) -> None:
    names = [r["name"] for r in rules(cli)]
    assert names[:2] == ["category application", "category network"]
    assert len(names) == 8  # "others" has no keywords
    shown = json.loads(run(cli, "rules", "show", "category cctv").output)
    assert shown["actions"] == {"category": "cctv"}
    assert "kamera" in shown["match"]["keywords"]


def test_add_edit_move_enable_disable_remove(cli: CliRunner) -> None:
    run(
        cli,
        "rules",
        "add",
        "vip",
        "--field",
        "sender_domain",
        "--equals",
        "bupati.example",
        "--priority",
        "urgent",
        "--position",
        "1",
    )
    assert rules(cli)[0]["name"] == "vip"
    run(cli, "rules", "edit", "vip", "--team", "support", "--stop")
    shown = json.loads(run(cli, "rules", "show", "vip").output)
    assert shown["actions"] == {"priority": "urgent", "team": "support"} and shown["stop"] is True
    run(cli, "rules", "edit", "vip", "--drop", "team", "--rename", "vip-sender")
    assert json.loads(run(cli, "rules", "show", "vip-sender").output)["actions"] == {
        "priority": "urgent"
    }
    run(cli, "rules", "move", "vip-sender", "3")
    assert [r["name"] for r in rules(cli)].index("vip-sender") == 2
    run(cli, "rules", "disable", "vip-sender")
    assert "[disabled]" in run(cli, "rules", "list").output
    run(cli, "rules", "enable", "vip-sender")
    run(cli, "rules", "remove", "vip-sender")
    assert "vip-sender" not in [r["name"] for r in rules(cli)]
    assert "no rule 'vip-sender'" in run(cli, "rules", "show", "vip-sender", code=1).stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regex", "([a-z"], "is not a valid pattern"),
        (["--keywords", "x", "--team", "nope"], "no team 'nope'"),
        (["--keywords", "x", "--category", "nope"], "no category 'nope'"),
        (["--keywords", "x", "--priority", "asap"], "priority must be one of"),
        (["--keywords", "x", "--field", "header"], "field: must be one of"),
        (["--team", "support"], "a rule needs a condition"),
        (["--keywords", "x"], "actions must be a non-empty table"),
        (["--match", "{not json", "--team", "support"], "--match is not valid JSON"),
        (["--match", '{"all": []}', "--team", "support"], "must be a non-empty list"),
        (["--keywords", "x", "--watcher", "not-an-address"], "watchers must be a list"),
    ],
)
def test_a_rule_that_cannot_work_is_never_saved(
    cli: CliRunner, args: list[str], message: str
) -> None:
    before = rules(cli)
    result = run(cli, "rules", "add", "broken", *args, code=1)
    assert message in result.stderr
    assert rules(cli) == before


def test_export_import_round_trip_and_dry_run(cli: CliRunner, tmp_path: Path) -> None:
    exported = run(cli, "rules", "export").output
    path = tmp_path / "rules.toml"
    path.write_text(exported)
    assert run(cli, "rules", "import", str(path)).output.strip() == "no changes"
    assert run(cli, "rules", "export").output == exported
    path.write_text(RULES_TOML)
    dry = run(cli, "rules", "import", str(path), "--dry-run").output
    assert "add     vip" in dry and "remove  category network" in dry
    assert "would change 9 rule(s)" in dry
    assert len(rules(cli)) == 8  # nothing changed
    run(cli, "rules", "import", str(path))
    assert [r["name"] for r in rules(cli)] == ["vip"]
    again = tmp_path / "again.toml"
    again.write_text(run(cli, "rules", "export").output)
    assert "no changes" in run(cli, "rules", "import", str(again)).output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]\nname = 1", "is not valid TOML"),
        (
            '[[rule]]\nname = "x"\ncolour = "red"\n[rule.match]\nfield="text"\nkeywords=["a"]\n'
            '[rule.actions]\npriority="low"\n',
            "unknown key(s) colour",
        ),
        (
            '[[rule]]\nname = "x"\n[rule.match]\nfield="text"\nregex="(("\n[rule.actions]\n'
            'priority="low"\n',
            "is not a valid pattern",
        ),
        (
            '[[rule]]\nname = "x"\n[rule.match]\nfield="text"\nkeywords=["a"]\n[rule.actions]\n'
            'priority="low"\n[[rule]]\nname = "x"\n',
            "used twice",
        ),
        ("[[rule]]\nposition = 1\n", "name is required"),
        ("rules = 1\n", "unknown top-level key"),
    ],
)
def test_malformed_import_changes_nothing(
    cli: CliRunner, tmp_path: Path, text: str, message: str
) -> None:
    before = run(cli, "rules", "export").output
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = run(cli, "rules", "import", str(path), code=1)
    assert message in result.stderr
    assert run(cli, "rules", "export").output == before


def test_rules_test_explains_hits_and_misses(cli: CliRunner, tmp_path: Path) -> None:
    out = run(
        cli, "rules", "test", "--text", "Kamera CCTV di lobby mati", "--subject", "CCTV"
    ).output
    assert "hit            category cctv: category=cctv on cctv, kamera" in out
    assert "miss           category network: no match" in out
    assert out.strip().endswith("category cctv · team support · priority normal")
    eml = tmp_path / "m.eml"
    eml.write_bytes(make_mail(subject="Lupa password email dinas", body="tolong reset"))
    result = json.loads(run(cli, "rules", "test", str(eml), "--json").output)
    assert result["category"] == "email"
    assert "give a MESSAGE.eml file or --text" in run(cli, "rules", "test", code=1).stderr


def test_teams_and_technicians(cli: CliRunner) -> None:
    run(
        cli,
        "teams",
        "add",
        "network",
        "--mailbox",
        "tim-jaringan@kominfo.example",
        "--title",
        "Tim Jaringan",
        "--manager",
        "kabid@kominfo.example",
    )
    run(
        cli,
        "technicians",
        "add",
        "made@kominfo.example",
        "--team",
        "network",
        "--name",
        "Made",
        "--phone",
        "+6281234",
        "--address",
        "made.personal@kominfo.example",
    )
    run(cli, "teams", "edit", "support", "--add-member", "made.personal@kominfo.example")
    techs = json.loads(run(cli, "technicians", "list", "--json").output)
    assert techs == [
        {
            "email": "made@kominfo.example",
            "name": "Made",
            "phone": "+6281234",
            "addresses": ["made.personal@kominfo.example"],
            "teams": ["support", "network"],
        }
    ]
    run(
        cli,
        "technicians",
        "edit",
        "made@kominfo.example",
        "--team",
        "network",
        "--remove-address",
        "made.personal@kominfo.example",
    )
    teams = {t["name"]: t for t in json.loads(run(cli, "teams", "list", "--json").output)}
    assert teams["network"]["members"] == ["made@kominfo.example"]
    assert teams["network"]["managers"] == ["kabid@kominfo.example"]
    assert teams["support"]["members"] == []
    assert (
        "exists already"
        in run(cli, "teams", "add", "network", "--mailbox", "a@b.example", code=1).stderr
    )
    assert (
        "not an email address" in run(cli, "teams", "add", "x", "--mailbox", "nope", code=1).stderr
    )
    run(cli, "technicians", "remove", "made@kominfo.example")
    run(cli, "teams", "remove", "network")


def test_removing_a_team_with_open_tickets_is_refused(cli: CliRunner, settings: Settings) -> None:
    from tests.integration.test_cli import process_queue

    run(cli, "teams", "add", "network", "--mailbox", "tim@kominfo.example")
    run(cli, "ingest", "-", input=make_mail())
    process_queue(settings)
    number = json.loads(run(cli, "tickets", "list", "--json").output)[0]["number"]
    run(cli, "tickets", "transfer", number, "network")
    refused = run(cli, "teams", "remove", "network", code=1).stderr
    assert "owns 1 open ticket(s): transfer them first" in refused
    assert "support" in run(cli, "teams", "list").output


def test_ticket_verbs(cli: CliRunner, settings: Settings) -> None:
    from tests.integration.test_cli import process_queue

    run(cli, "teams", "add", "network", "--mailbox", "tim@kominfo.example")
    run(cli, "technicians", "add", "wayan@kominfo.example", "--team", "support", "--name", "Wayan")
    run(cli, "ingest", "-", input=make_mail())
    run(cli, "ingest", "-", input=make_mail(sender="ayu@dinas.example", message_id="<2@x>"))
    process_queue(settings)
    second, first = [t["number"] for t in json.loads(run(cli, "tickets", "list", "--json").output)]
    run(cli, "tickets", "assign", first, "Wayan")
    run(cli, "tickets", "priority", first, "high")
    run(cli, "tickets", "share", first, "network")
    assert "already shared" in run(cli, "tickets", "share", first, "network", code=1).stderr
    run(cli, "tickets", "unshare", first, "network")
    run(cli, "tickets", "note", first, "kabel diganti")
    run(cli, "tickets", "reply", first, input="Sudah kami perbaiki.\n")
    run(cli, "tickets", "resolve", first)
    run(cli, "tickets", "reopen", first)
    run(cli, "tickets", "close", first)
    assert "already closed" in run(cli, "tickets", "close", first, code=1).stderr
    run(cli, "tickets", "merge", second, first)
    shown = json.loads(run(cli, "tickets", "show", first, "--json").output)
    assert shown["assignee"] == "wayan@kominfo.example"
    assert shown["priority"] == "high"
    kinds = [e["kind"] for e in shown["entries"]]
    assert kinds == ["message", "message", "note", "reply"]  # by time, merged one included
    events = [e["kind"] for e in shown["events"]]
    for kind in ("assigned", "priority", "shared", "unshared", "merged_in"):
        assert kind in events
    assert (
        "one of low, normal, high, urgent"
        in run(cli, "tickets", "priority", first, "asap", code=1).stderr
    )
    assert "no technician 'Nobody'" in run(cli, "tickets", "assign", first, "Nobody", code=1).stderr
