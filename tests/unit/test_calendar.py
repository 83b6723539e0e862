"""Business-hours arithmetic: weekends, holidays, over midnight, zones with and without DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tiket.errors import ConfigError
from tiket.reports.calendar import BusinessCalendar, parse_hours

MAKASSAR = ZoneInfo("Asia/Makassar")  # UTC+8 all year
BERLIN = ZoneInfo("Europe/Berlin")  # DST: 29 March 2026 02:00 → 03:00, 25 October 03:00 → 02:00
OFFICE = ("mon-thu 08:00-16:00", "fri 08:00-16:30")


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def hours(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    return calendar.seconds_between(start, end) / 3600


@pytest.fixture
def office() -> BusinessCalendar:
    return BusinessCalendar.build("Asia/Makassar", OFFICE)


def test_within_one_working_day(office: BusinessCalendar) -> None:
    assert hours(office, at(MAKASSAR, 2026, 11, 24, 9), at(MAKASSAR, 2026, 11, 24, 11, 30)) == 2.5


def test_before_and_after_hours_do_not_count(office: BusinessCalendar) -> None:
    # Tuesday 06:00 to 20:00: only 08:00-16:00
    assert hours(office, at(MAKASSAR, 2026, 11, 24, 6), at(MAKASSAR, 2026, 11, 24, 20)) == 8


def test_weekend_is_skipped(office: BusinessCalendar) -> None:
    # Friday 15:00 → Monday 09:00: 1.5 h on Friday (until 16:30) + 1 h on Monday
    assert hours(office, at(MAKASSAR, 2026, 11, 27, 15), at(MAKASSAR, 2026, 11, 30, 9)) == 2.5
    # all of a weekend: nothing
    assert hours(office, at(MAKASSAR, 2026, 11, 28, 0), at(MAKASSAR, 2026, 11, 30, 0)) == 0


def test_instants_in_other_zones_are_the_same_instants(office: BusinessCalendar) -> None:
    # 01:00 UTC is 09:00 in Makassar
    start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert hours(office, start, start + timedelta(hours=3)) == 3


def test_holidays_are_skipped() -> None:
    calendar = BusinessCalendar.build("Asia/Makassar", OFFICE, [date(2026, 12, 25)])
    # Thursday 24 Dec 15:00 → Monday 28 Dec 09:00; 25 Dec (Friday) is a holiday
    assert hours(calendar, at(MAKASSAR, 2026, 12, 24, 15), at(MAKASSAR, 2026, 12, 28, 9)) == 2
    assert calendar.add(at(MAKASSAR, 2026, 12, 24, 15), 2 * 3600) == at(MAKASSAR, 2026, 12, 28, 9)


def test_a_shift_over_midnight() -> None:
    calendar = BusinessCalendar.build("Asia/Makassar", ("mon-fri 22:00-06:00",))
    # Monday 23:00 → Tuesday 05:00 inside the shift that started Monday
    assert hours(calendar, at(MAKASSAR, 2026, 11, 23, 23), at(MAKASSAR, 2026, 11, 24, 5)) == 6
    # Friday's shift runs into Saturday morning; Saturday night has none
    assert hours(calendar, at(MAKASSAR, 2026, 11, 27, 21), at(MAKASSAR, 2026, 11, 29, 12)) == 8
    # Monday 00:00-06:00 belongs to Sunday's shift, which does not exist
    assert hours(calendar, at(MAKASSAR, 2026, 11, 23, 0), at(MAKASSAR, 2026, 11, 23, 6)) == 0


def test_round_the_clock_hours() -> None:
    calendar = BusinessCalendar.build("Asia/Makassar", ("mon-sun 00:00-24:00",))
    start = at(MAKASSAR, 2026, 11, 23, 10)
    assert hours(calendar, start, start + timedelta(days=3)) == 72


def test_dst_day_counts_real_elapsed_time() -> None:
    night = BusinessCalendar.build("Europe/Berlin", ("mon-sun 00:00-06:00",))
    # Sunday 29 March 2026 the clocks skip 02:00-03:00: the shift lasts 5 real hours
    day = at(BERLIN, 2026, 3, 29, 0)
    assert hours(night, day, day + timedelta(hours=12)) == 5
    # Sunday 25 October 2026 02:00-03:00 happens twice: 7 real hours
    day = at(BERLIN, 2026, 10, 25, 0)
    assert hours(night, day, day + timedelta(hours=12)) == 7


def test_dst_office_hours_follow_local_time() -> None:
    office = BusinessCalendar.build("Europe/Berlin", ("mon-fri 09:00-17:00",))
    # Friday 27 March 16:00 CET → Monday 30 March 10:00 CEST: 1 h + 1 h
    assert hours(office, at(BERLIN, 2026, 3, 27, 16), at(BERLIN, 2026, 3, 30, 10)) == 2
    # and adding lands on Monday 10:00 local, which is 08:00 UTC (summer time)
    end = office.add(at(BERLIN, 2026, 3, 27, 16), 2 * 3600)
    assert end == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_add_is_the_inverse_of_between(office: BusinessCalendar) -> None:
    start = at(MAKASSAR, 2026, 11, 26, 13, 17)
    for minutes in (0, 1, 59, 163, 480, 1000, 5000, 20000):
        end = office.add(start, minutes * 60)
        assert office.minutes_between(start, end) == minutes


def test_an_instant_outside_hours_adds_from_the_next_opening(office: BusinessCalendar) -> None:
    saturday = at(MAKASSAR, 2026, 11, 28, 12)
    assert office.add(saturday, 30 * 60) == at(MAKASSAR, 2026, 11, 30, 8, 30)


def test_end_before_start_is_zero(office: BusinessCalendar) -> None:
    start = at(MAKASSAR, 2026, 11, 24, 9)
    assert office.seconds_between(start, start - timedelta(hours=1)) == 0


def test_hours_parse_and_merge() -> None:
    hours_ = parse_hours(
        ("mon-fri 08:00-12:00,13:00-16:00", "mon 11:00-14:00", "sat-sun 09:00-10:00")
    )
    assert hours_[0] == ((480, 960),)
    assert hours_[1] == ((480, 720), (780, 960))
    assert hours_[5] == hours_[6] == ((540, 600),)


@pytest.mark.parametrize(
    "spec",
    [
        "monday 08:00-16:00",
        "mon 8-16",
        "mon 08:00-25:00",
        "mon 08:70-09:00",
        "mon 08:00-08:00",
        "xyz-fri 08:00-16:00",
        "",
    ],
)
def test_bad_hours_are_refused_clearly(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"calendar\.hours"):
        parse_hours((spec,))


def test_unknown_zone_and_no_hours_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown time zone"):
        BusinessCalendar.build("Mars/Olympus", OFFICE)
    with pytest.raises(ConfigError, match="no working hours"):
        BusinessCalendar.build("Asia/Makassar", ())
    with pytest.raises(ConfigError, match="ten years"):
        BusinessCalendar.build(
            "UTC",
            ("mon 08:00-09:00",),
            [date(2026, 11, 23) + timedelta(weeks=w) for w in range(600)],
        ).add(datetime(2026, 11, 22, tzinfo=UTC), 3600)
