"""Report periods in local time, their chart buckets, and percentiles of a frequency table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tiket.reports import periods
from tiket.reports.builder import percentile
from tiket.reports.jobs import every_minutes, iso_week, local_day, previous_month, previous_year
from tiket.reports.periods import BadPeriod

MAKASSAR = ZoneInfo("Asia/Makassar")
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_month_starts_at_local_midnight() -> None:
    october = periods.month("2026-10", MAKASSAR)
    assert october.start.astimezone(UTC) == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert october.end.astimezone(UTC) == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert len(periods.buckets(october)) == 31


def test_a_dst_month_has_the_right_edges() -> None:
    march = periods.month("2026-03", BERLIN)
    assert march.start.astimezone(UTC) == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert march.end.astimezone(UTC) == datetime(2026, 3, 31, 22, tzinfo=UTC)  # summer time


def test_year_and_span_buckets() -> None:
    year = periods.year(2025, MAKASSAR)
    assert [label for label, _, _ in periods.buckets(year)][::11] == ["2025-01", "2025-12"]
    span = periods.span(date(2026, 1, 15), date(2026, 4, 10), MAKASSAR)
    assert [label for label, _, _ in periods.buckets(span)] == [
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
    ]
    assert periods.buckets(span)[0][1].date() == date(2026, 1, 15)
    months = periods.months_before(periods.month("2026-02", MAKASSAR), 12)
    assert (months[0][0], months[-1][0], len(months)) == ("2025-03", "2026-02", 12)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "october", "2026-00"])
def test_bad_months(text: str) -> None:
    with pytest.raises(BadPeriod, match="YYYY-MM"):
        periods.month(text, MAKASSAR)


def test_job_periods_are_stable_ids() -> None:
    now = datetime(2026, 12, 31, 17, 7, 45, tzinfo=UTC)  # 1 January 2027 01:07 in Makassar
    assert every_minutes(5)(now, MAKASSAR) == "2027-01-01T01:05"
    assert every_minutes(60)(now, MAKASSAR) == "2027-01-01T01:00"
    assert local_day(now, MAKASSAR) == "2027-01-01"
    assert iso_week(now, MAKASSAR) == "2026-W53"
    assert previous_month(now, MAKASSAR) == "2026-12"
    assert previous_year(now, MAKASSAR) == "2026"


def test_percentile_nearest_rank() -> None:
    counts = {30: 1, 60: 2, 300: 1}
    assert percentile(counts, 0.5) == 60
    assert percentile(counts, 0.9) == 300
    assert percentile({5: 10}, 0.9) == 5
    assert percentile({1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1}, 0.9) == 9
    with pytest.raises(ValueError):
        percentile({}, 0.5)
