"""The commands: calendar holidays (with iCalendar import), SLA targets, reports, trends, jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.integration import report_data
from tiket.cli import main
from tiket.config import Settings
from tiket.model.db import Database

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//holidays//EN
BEGIN:VEVENT
UID:1@test
DTSTART;VALUE=DATE:20261225
SUMMARY:Hari Raya Natal
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART;VALUE=DATE:20260320
DTEND;VALUE=DATE:20260322
SUMMARY:Idul Fitri
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def tiket(db: Database, settings: Settings) -> CliRunner:
    return CliRunner(
        env={
            "TIKET_CONFIG": "",
            "TIKET_DATABASE_URL": settings.database_url,
            "TIKET_PATHS_VAR": settings.paths.var,
            "TIKET_MAIL_ADDRESS": settings.mail.address,
            "TIKET_MAIL_SECRET": "test-secret",
            "TIKET_MAIL_LANGUAGE": "en",
        }
    )


def call(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=False)


def test_holidays_add_list_and_mistakes(tiket: CliRunner) -> None:
    assert call(
        tiket, "calendar", "holidays", "add", "2026-08-17", "Hari", "Kemerdekaan"
    ).output == ("holiday 2026-08-17 added\n")
    result = call(tiket, "calendar", "holidays", "add", "2026-08-17", "again")
    assert result.exit_code == 1 and "2026-08-17 is a holiday already" in result.output
    result = call(tiket, "calendar", "holidays", "add", "17-08-2026", "wrong")
    assert result.exit_code == 2 and "DAY must be a date YYYY-MM-DD" in result.output
    assert call(tiket, "calendar", "holidays", "list").output == "2026-08-17  Hari Kemerdekaan\n"
    assert call(tiket, "calendar", "holidays", "list", "--year", "2025").output == "no holidays\n"


def test_holidays_import_ics(tiket: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "libur.ics"
    path.write_bytes(ICS)
    assert call(tiket, "calendar", "holidays", "import", str(path)).output == (
        "added 3 holidays, 0 already known\n"
    )
    listed = json.loads(call(tiket, "calendar", "holidays", "list", "--json").output)
    assert listed == [
        {"day": "2026-03-20", "name": "Idul Fitri"},
        {"day": "2026-03-21", "name": "Idul Fitri"},  # DTEND is exclusive
        {"day": "2026-12-25", "name": "Hari Raya Natal"},
    ]
    assert call(tiket, "calendar", "holidays", "import", str(path)).output == (
        "added 0 holidays, 3 already known\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a calendar", "not an iCalendar file"),
        (b"BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "the file has no events"),
        (
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n",
            "has no valid DTSTART",
        ),
        (
            ICS.replace(b"DTEND;VALUE=DATE:20260322", b"DTEND;VALUE=DATE:20270322"),
            "lasts more than 31 days",
        ),
    ],
)
def test_a_bad_ics_file_imports_nothing(
    tiket: CliRunner, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.ics"
    path.write_bytes(content)
    result = call(tiket, "calendar", "holidays", "import", str(path))
    assert result.exit_code == 1 and message in result.output
    assert call(tiket, "calendar", "holidays", "list").output == "no holidays\n"


def test_sla_targets(tiket: CliRunner) -> None:
    assert (
        call(
            tiket, "sla", "set", "network", "high", "--first-response", "1", "--resolution", "8"
        ).exit_code
        == 0
    )
    output = call(tiket, "sla", "list").output
    assert "default" in output and "network / high" in output and "resolution 8 h" in output
    result = call(tiket, "sla", "set", "nosuch", "*", "--first-response", "1", "--resolution", "8")
    assert result.exit_code == 2 and "no category 'nosuch'" in result.output
    result = call(tiket, "sla", "set", "*", "*", "--first-response", "0", "--resolution", "8")
    assert result.exit_code == 2 and "positive" in result.output


def test_reports_in_each_format(tiket: CliRunner, db: Database, tmp_path: Path) -> None:
    with db.session() as session:
        report_data.october(session)
    text = call(tiket, "report", "monthly", "--month", "2026-10").stdout
    assert text.startswith("Monthly report 2026-10\n")
    assert "Tickets in 5, closed 3" in text
    out = tmp_path / "october.json"
    call(tiket, "report", "monthly", "--month", "2026-10", "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["first_response"]["within_sla"] == 0.75
    csv_text = call(tiket, "report", "annual", "--year", "2026", "--format", "csv").stdout
    assert "totals,,tickets in,7" in csv_text
    html = call(
        tiket,
        "report",
        "team",
        "network",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--format",
        "html",
    ).output
    assert html.count("data:image/png;base64,") == 4 and "Team network" in html


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("report", "monthly", "--month", "2026-13"), 1, "month must be YYYY-MM"),
        (("report", "annual", "--year", "12"), 1, "year must be between"),
        (
            ("report", "team", "nosuch", "--from", "2026-10-01", "--to", "2026-10-31"),
            1,
            "no team 'nosuch'",
        ),
        (
            ("report", "team", "support", "--from", "2026-10-31", "--to", "2026-10-01"),
            1,
            "is before --from",
        ),
        (
            ("report", "team", "support", "--from", "yesterday", "--to", "2026-10-01"),
            2,
            "--from must be a date",
        ),
        (("report", "monthly", "--format", "pdf"), 2, "Invalid value for '--format'"),
        (("jobs", "run", "nosuch"), 1, "no job 'nosuch'"),
    ],
)
def test_bad_report_arguments(
    tiket: CliRunner, args: tuple[str, ...], code: int, message: str
) -> None:
    result = call(tiket, *args)
    assert result.exit_code == code and message in result.output


def test_trends_and_jobs(tiket: CliRunner, db: Database) -> None:
    with db.session() as session:
        report_data.october(session)
    assert call(tiket, "trends", "--since", "2026-10-01").output == "no recurring problems\n"
    listed = call(tiket, "jobs", "list").output
    for name in ("sla", "lifecycle", "digest", "weekly", "monthly-report", "annual-report"):
        assert f"\n{name} " in "\n" + listed
    assert "never run" in listed
    ran = call(tiket, "jobs", "run", "lifecycle")
    assert ran.exit_code == 0 and ": done: closed" in ran.output
    rows = json.loads(call(tiket, "jobs", "list", "--json").output)
    lifecycle = next(r for r in rows if r["name"] == "lifecycle")
    assert lifecycle["last_state"] == "done" and lifecycle["next_run"]
    again = call(tiket, "jobs", "run", "lifecycle")
    assert "skipped: already done" in again.output
