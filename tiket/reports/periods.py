"""Report periods in business-calendar local time, and the buckets a period is charted in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tiket.errors import TiketError

DAILY_UP_TO_DAYS = 62


class BadPeriod(TiketError):
    """The period is not valid."""


@dataclass(frozen=True)
class Period:
    """[start, end) as aware local datetimes; `label` names it in titles and job ids."""

    kind: str  # month, year, range
    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.end.date() - self.start.date()).days


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def month(text: str, tz: ZoneInfo) -> Period:
    if not re.fullmatch(r"\d{4}-\d{2}", text) or not 1 <= int(text[5:]) <= 12:
        raise BadPeriod(f"month must be YYYY-MM, got {text!r}")
    first = date(int(text[:4]), int(text[5:]), 1)
    return Period("month", text, _midnight(first, tz), _midnight(next_month(first), tz))


def year(value: int, tz: ZoneInfo) -> Period:
    if not 1970 <= value <= 9998:
        raise BadPeriod(f"year must be between 1970 and 9998, got {value}")
    return Period(
        "year", str(value), _midnight(date(value, 1, 1), tz), _midnight(date(value + 1, 1, 1), tz)
    )


def span(first: date, last: date, tz: ZoneInfo) -> Period:
    """From the first to the last day, both included."""
    if last < first:
        raise BadPeriod(f"--to {last} is before --from {first}")
    return Period(
        "range",
        f"{first.isoformat()}..{last.isoformat()}",
        _midnight(first, tz),
        _midnight(last + timedelta(days=1), tz),
    )


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def previous_month(now: datetime, tz: ZoneInfo) -> Period:
    first = now.astimezone(tz).date().replace(day=1)
    before = (first - timedelta(days=1)).replace(day=1)
    return month(before.strftime("%Y-%m"), tz)


def previous_year(now: datetime, tz: ZoneInfo) -> Period:
    return year(now.astimezone(tz).year - 1, tz)


def buckets(period: Period) -> list[tuple[str, datetime, datetime]]:
    """Days for a period of up to two months, calendar months beyond."""
    tz = period.start.tzinfo
    assert isinstance(tz, ZoneInfo)
    result = []
    day = period.start.date()
    end = period.end.date()
    daily = period.days <= DAILY_UP_TO_DAYS
    while day < end:
        following = day + timedelta(days=1) if daily else min(next_month(day), end)
        label = day.isoformat() if daily else day.strftime("%Y-%m")
        result.append((label, _midnight(day, tz), _midnight(following, tz)))
        day = following
    return result


def months_before(period: Period, count: int) -> list[tuple[str, datetime, datetime]]:
    """The `count` calendar months that end with the period's last month."""
    tz = period.start.tzinfo
    assert isinstance(tz, ZoneInfo)
    last = (period.end.date() - timedelta(days=1)).replace(day=1)
    firsts = [last]
    while len(firsts) < count:
        firsts.insert(0, (firsts[0] - timedelta(days=1)).replace(day=1))
    return [(f.strftime("%Y-%m"), _midnight(f, tz), _midnight(next_month(f), tz)) for f in firsts]
