"""Holidays of the business calendar: add, list, import iCalendar, and the calendar they make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.errors import Conflict, TiketError
from tiket.model import Holiday
from tiket.reports.calendar import BusinessCalendar

MAX_EVENT_DAYS = 31


class BadCalendarFile(TiketError):
    """The file is not an iCalendar file with holidays."""


@dataclass(frozen=True)
class Imported:
    added: tuple[date, ...]
    known: tuple[date, ...]


def load_calendar(session: Session, settings: Settings) -> BusinessCalendar:
    days = session.scalars(select(Holiday.day)).all()
    return BusinessCalendar.build(settings.calendar.timezone, settings.calendar.hours, days)


def add_holiday(session: Session, day: date, name: str) -> Holiday:
    if session.scalar(select(Holiday).where(Holiday.day == day)) is not None:
        raise Conflict(f"{day.isoformat()} is a holiday already")
    row = Holiday(day=day, name=name.strip()[:200])
    session.add(row)
    return row


def list_holidays(session: Session, year: int | None = None) -> list[Holiday]:
    query = select(Holiday).order_by(Holiday.day)
    if year is not None:
        query = query.where(Holiday.day >= date(year, 1, 1), Holiday.day < date(year + 1, 1, 1))
    return list(session.scalars(query))


def import_ics(session: Session, data: bytes) -> Imported:
    """Add every day of every VEVENT; days already known are left as they are."""
    days = parse_ics(data)
    known = set(session.scalars(select(Holiday.day).where(Holiday.day.in_(list(days)))))
    added = []
    for day, name in sorted(days.items()):
        if day not in known:
            session.add(Holiday(day=day, name=name[:200]))
            added.append(day)
    return Imported(tuple(added), tuple(sorted(known)))


def parse_ics(data: bytes) -> dict[date, str]:
    """The days an iCalendar file marks (all-day events; DTEND is exclusive)."""
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise BadCalendarFile(f"not an iCalendar file: {exc}") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise BadCalendarFile("not an iCalendar file: no VCALENDAR")
    days: dict[date, str] = {}
    for event in calendar.walk("VEVENT"):
        name = str(event.get("SUMMARY", "")).strip()
        start = _day(event.get("DTSTART"), "DTSTART", name)
        end_prop = event.get("DTEND")
        end = _day(end_prop, "DTEND", name) if end_prop is not None else start + timedelta(1)
        if end <= start:
            end = start + timedelta(days=1)
        if (end - start).days > MAX_EVENT_DAYS:
            raise BadCalendarFile(f"event {name!r} lasts more than {MAX_EVENT_DAYS} days")
        day = start
        while day < end:
            days.setdefault(day, name)
            day += timedelta(days=1)
    if not days:
        raise BadCalendarFile("the file has no events")
    return days


def _day(prop: object, key: str, name: str) -> date:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise BadCalendarFile(f"event {name!r} has no valid {key}")
