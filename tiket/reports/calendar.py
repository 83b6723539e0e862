"""The business calendar: working hours per weekday, holidays, and time counted in them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tiket.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = ("mon-thu 08:00-16:00", "fri 08:00-16:30")
_SPEC = re.compile(r"^\s*(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<spans>.+)$")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

# A local wall-clock span within one day, in minutes since midnight (end may be 1440).
Span = tuple[int, int]


def parse_hours(specs: Iterable[str]) -> dict[int, tuple[Span, ...]]:
    """Read lines like "mon-thu 08:00-12:00,13:00-16:00"; a span like 22:00-06:00 runs over
    midnight into the next day."""
    hours: dict[int, list[Span]] = {day: [] for day in range(7)}
    for spec in specs:
        match = _SPEC.match(spec.lower())
        if not match:
            raise ConfigError(f"calendar.hours: {spec!r} is not like 'mon-fri 08:00-16:00'")
        for day in _days(spec, match["days"]):
            for text in match["spans"].split(","):
                start, end = _span(spec, text.strip())
                if end > start:
                    hours[day].append((start, end))
                else:  # over midnight: the rest of this day and the start of the next
                    hours[day].append((start, 1440))
                    if end:
                        hours[(day + 1) % 7].append((0, end))
    return {day: _merge(spans) for day, spans in hours.items()}


def _days(spec: str, text: str) -> list[int]:
    first, _, last = text.partition("-")
    try:
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
    except ValueError:
        raise ConfigError(f"calendar.hours: unknown weekday in {spec!r} (mon … sun)") from None
    return [(a + i) % 7 for i in range((b - a) % 7 + 1)]


def _span(spec: str, text: str) -> Span:
    match = _SPAN.match(text)
    if not match:
        raise ConfigError(f"calendar.hours: {text!r} in {spec!r} is not like 08:00-16:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start >= 1440 or end > 1440 or start == end:
        raise ConfigError(f"calendar.hours: {text!r} in {spec!r} is not a valid span")
    return start, end


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"calendar.timezone: unknown time zone {name!r}") from None


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in a time zone, minus holidays. Instants are aware datetimes."""

    tz: ZoneInfo
    hours: Mapping[int, tuple[Span, ...]]
    holidays: frozenset[date] = frozenset()
    _cache: dict[date, tuple[tuple[float, float], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def build(
        cls, timezone: str, hours: Iterable[str], holidays: Iterable[date] = ()
    ) -> BusinessCalendar:
        calendar = cls(zone(timezone), parse_hours(hours), frozenset(holidays))
        if not any(calendar.hours.values()):
            raise ConfigError("calendar.hours: no working hours on any day")
        return calendar

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def day_spans(self, day: date) -> tuple[tuple[float, float], ...]:
        """The day's working spans as UTC epoch seconds (so a DST day has its true length)."""
        cached = self._cache.get(day)
        if cached is None:
            if day in self.holidays:
                cached = ()
            else:
                cached = tuple(
                    (self._epoch(day, start), self._epoch(day, end))
                    for start, end in self.hours.get(day.weekday(), ())
                )
            self._cache[day] = cached
        return cached

    def _epoch(self, day: date, minutes: int) -> float:
        if minutes >= 1440:
            day, minutes = day + timedelta(days=1), minutes - 1440
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)
        return local.timestamp()

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end); 0 when end is not after start."""
        if end <= start:
            return 0.0
        a, b = start.timestamp(), end.timestamp()
        total = 0.0
        day = self.local_date(start)
        last = self.local_date(end)
        while day <= last:
            for s, e in self.day_spans(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def minutes_between(self, start: datetime, end: datetime) -> int:
        return int(self.seconds_between(start, end) // 60)

    def add(self, start: datetime, seconds: float, *, max_days: int = 3660) -> datetime:
        """The instant `seconds` business seconds after start (bounded: ten years of days)."""
        a = start.timestamp()
        left = float(seconds)
        day = self.local_date(start)
        for _ in range(max_days):
            for s, e in self.day_spans(day):
                lo = max(s, a)
                if e <= lo:
                    continue
                if left <= e - lo:
                    return datetime.fromtimestamp(lo + left, UTC)
                left -= e - lo
            day += timedelta(days=1)
        raise ConfigError("calendar: no working hours within ten years; check the holidays")
