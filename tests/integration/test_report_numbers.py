"""Each report's figures against a small month built by hand (tests/integration/report_data.py)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select, update

from tests.integration import report_data
from tiket.config import Settings
from tiket.model import Ticket
from tiket.model.db import Database
from tiket.reports.builder import STEPS, Report
from tiket.reports.holidays import add_holiday
from tiket.reports.reading import Reader
from tiket.reports.render import render
from tiket.reports.service import ReportService


@pytest.fixture
def service(db: Database, settings: Settings) -> ReportService:
    with db.session() as session:
        report_data.october(session)
    return ReportService(db, replace(settings, mail=replace(settings.mail, language="en")))


def test_monthly_counts(service: ReportService) -> None:
    r = service.monthly("2026-10")
    assert (r.tickets_in, r.tickets_closed) == (5, 3)
    assert dict(r.tickets_in_by["category"]) == {
        "System / application": 3,
        "Computer network and Wi-Fi": 2,
    }
    assert dict(r.tickets_in_by["team"]) == {"support": 3, "network": 2}
    assert dict(r.tickets_in_by["channel"]) == {"email": 3, "whatsapp": 1, "sms": 1}
    assert dict(r.tickets_in_by["agency"]) == {"Dinas A": 3, "Dinas B": 2}
    assert dict(r.tickets_closed_by["team"]) == {"support": 2, "network": 1}
    assert dict(r.tickets_closed_by["agency"]) == {"Dinas A": 2, "(unknown)": 1}


def test_monthly_times_in_business_hours(service: ReportService) -> None:
    r = service.monthly("2026-10")
    # first responses in October: 30, 60, 60, 300 minutes; target 240
    assert (r.first_response.count, r.first_response.median_hours) == (4, 1.0)
    assert (r.first_response.p90_hours, r.first_response.within_sla) == (5.0, 0.75)
    # resolutions in October: 270, 360, 480, 1440 minutes; target 1440
    assert (r.resolution.count, r.resolution.median_hours) == (4, 6.0)
    assert (r.resolution.p90_hours, r.resolution.within_sla) == (24.0, 1.0)
    assert dict(r.resolution_histogram) == {
        "< 1 h": 0, "1–4 h": 0, "4–8 h": 2, "1–2 d": 1, "2–5 d": 1, "5–10 d": 0, "> 10 d": 0,
    }  # fmt: skip
    by_team = {t.team: t for t in r.sla_by_team}
    assert (by_team["support"].answered, by_team["support"].first_response_within) == (3, 1.0)
    assert (by_team["network"].answered, by_team["network"].first_response_within) == (1, 0.0)
    assert (by_team["network"].resolved, by_team["network"].resolution_within) == (2, 1.0)


def test_monthly_reopen_backlog_satisfaction_problems(service: ReportService) -> None:
    r = service.monthly("2026-10")
    assert (r.reopened, r.reopen_rate) == (1, 0.3333)
    backlog = dict(r.backlog)
    assert len(backlog) == 31
    assert [backlog[f"2026-10-{d:02d}"] for d in (1, 2, 5, 6, 8, 19, 20, 31)] == [
        0, 1, 1, 2, 1, 1, 2, 2,
    ]  # fmt: skip
    assert (r.satisfaction_count, r.satisfaction_average) == (2, 4.0)
    assert r.satisfaction_distribution == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert [(p.subject, p.tickets, p.requesters, p.agencies) for p in r.top_problems] == [
        ("aplikasi simpeg error", 2, 2, 1)
    ]
    assert r.category_months[-1] == "2026-10" and len(r.category_months) == 12
    assert r.category_series["System / application"][-1] == 3
    assert r.category_series["Computer network and Wi-Fi"][-2:] == [1, 2]


def test_a_holiday_changes_the_times(service: ReportService) -> None:
    with service.db.session() as session:
        add_holiday(session, date(2026, 10, 5), "test holiday")  # the Monday of T2 and T3
    r = service.monthly("2026-10")
    # T2's first response lands on the holiday: 30 minutes only; T3 starts on it: 0
    assert r.first_response.median_hours == 0.5


def test_annual_report(service: ReportService) -> None:
    r = service.annual(2026)
    assert (r.tickets_in, r.tickets_closed) == (7, 3)
    assert [label for label, _ in r.backlog][:2] == ["2026-01", "2026-02"]
    assert dict(r.backlog)["2026-09"] == 1 and dict(r.backlog)["2026-11"] == 3
    assert r.category_months == [f"2026-{m:02d}" for m in range(1, 13)]
    assert r.satisfaction_count == 3 and r.satisfaction_average == 3.0


def test_team_report(service: ReportService) -> None:
    r = service.team("network", date(2026, 10, 1), date(2026, 10, 31))
    assert r.team == "network"
    assert (r.tickets_in, r.tickets_closed) == (2, 1)
    assert (r.first_response.count, r.first_response.within_sla) == (1, 0.0)
    assert (r.resolution.count, r.resolution.median_hours) == (2, 8.0)
    assert [t.team for t in r.sla_by_team] == ["network"]
    assert dict(r.backlog)["2026-10-06"] == 2 and dict(r.backlog)["2026-10-31"] == 1


def test_formats_carry_the_same_figures(service: ReportService) -> None:
    r: Report = service.monthly("2026-10")
    data = json.loads(render(r, "json"))
    assert data["tickets_in"] == 5 and data["resolution"]["median_hours"] == 6.0
    rows = list(csv.reader(io.StringIO(render(r, "csv"))))
    assert rows[0] == ["section", "dimension", "label", "value"]
    assert ["tickets in", "agency", "Dinas A", "3"] in rows
    assert ["first response", "", "within SLA", "0.75"] in rows
    text = render(r, "text")
    assert "Tickets in 5, closed 3, reopened 1 (rate 33.3 %)" in text
    assert "Resolution: 4 tickets, median 6.0 h, p90 24.0 h, within SLA 100.0 %" in text
    html = render(r, "html")
    assert html.count('src="data:image/png;base64,') == 4
    assert '<b id="tickets-in">5</b>' in html


def test_empty_period_renders(service: ReportService) -> None:
    r = service.monthly("2020-01")
    assert r.tickets_in == 0 and r.first_response.median_hours is None
    for fmt in ("text", "json", "csv", "html"):
        assert render(r, fmt)


def test_progress_is_told_of_every_part(service: ReportService) -> None:
    seen: list[str] = []
    service.monthly("2026-10", progress=seen.append)
    assert len(seen) == STEPS and len(set(seen)) == STEPS


def test_a_report_reading_does_not_block_writers(service: ReportService) -> None:
    reader = Reader(service.db)
    try:
        with reader.session() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 7
            # the daemon writes while a report holds its snapshot open
            with service.db.session() as writer:
                writer.execute(update(Ticket).where(Ticket.number == "T4").values(status="pending"))
            assert session.scalar(select(func.count()).select_from(Ticket)) == 7
    finally:
        reader.close()
