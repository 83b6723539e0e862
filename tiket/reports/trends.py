"""Recurring problems: tickets of one category with similar wording, rising week over week."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.model import Category, Requester, Ticket
from tiket.reports.queries import UNKNOWN

MAX_TICKETS = 200_000
MAX_GROUPS = 400
SIMILAR = 0.5
EXAMPLES = 3
_WORD = re.compile(r"[^\W\d_]{3,}")
STOPWORDS = frozenset(
    (
        "the",
        "and",
        "for",
        "with",
        "not",
        "from",
        "this",
        "that",
        "our",
        "are",
        "can",
        "cannot",
        "please",
        "help",
        "issue",
        "problem",
        "yang",
        "dan",
        "untuk",
        "dengan",
        "tidak",
        "bisa",
        "dari",
        "ini",
        "itu",
        "kami",
        "mohon",
        "tolong",
        "saya",
        "ada",
        "sudah",
        "belum",
        "minta",
        "bantuan",
        "masalah",
        "pak",
        "ibu",
        "bapak",
        "via",
        "tiket",
    )
)


@dataclass(frozen=True)
class Trend:
    category: str
    wording: str
    tickets: int
    requesters: int
    top_agency: str
    agency_tickets: int
    weekly: tuple[int, ...]  # oldest week first; the last is the latest seven days
    rising: bool
    examples: tuple[tuple[str, str], ...]  # (ticket number, subject)


def words(subject: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(subject.lower()) if w not in STOPWORDS)


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= SIMILAR


@dataclass
class _Group:
    key: frozenset[str]
    rows: list[tuple[str, str, int, str, datetime]]


def find_trends(
    session: Session, since: datetime, now: datetime, *, min_tickets: int = 5, language: str = "en"
) -> list[Trend]:
    """Groups of at least `min_tickets` from three requesters or more, or from one agency,
    rising ones first."""
    label = Category.name_id if language == "id" else Category.name_en
    rows = session.execute(
        select(
            Ticket.number,
            Ticket.subject,
            Ticket.requester_id,
            Requester.organisation,
            Ticket.created_at,
            label,
        )
        .join(Requester, Requester.id == Ticket.requester_id)
        .outerjoin(Category, Category.id == Ticket.category_id)
        .where(Ticket.created_at >= since, Ticket.created_at < now)
        .order_by(Ticket.created_at.desc())
        .limit(MAX_TICKETS)
    ).all()
    by_category: dict[str, dict[frozenset[str], _Group]] = {}
    for number, subject, requester, agency, created, category in rows:
        key = words(subject)
        if not key:
            continue
        groups = by_category.setdefault(category or UNKNOWN, {})
        groups.setdefault(key, _Group(key, [])).rows.append(
            (number, subject, requester, agency or UNKNOWN, created)
        )
    weeks = max(1, -(-(now - since).days // 7))
    trends = [
        trend
        for category, groups in by_category.items()
        for group in _merge(list(groups.values()))
        if (trend := _trend(category, group, now, weeks, min_tickets)) is not None
    ]
    return sorted(trends, key=lambda t: (not t.rising, -t.weekly[-1], -t.tickets, t.wording))


def _merge(groups: list[_Group]) -> list[_Group]:
    """Greedy: each group joins the first bigger group with similar wording."""
    groups.sort(key=lambda g: -len(g.rows))
    merged: list[_Group] = []
    for group in groups[:MAX_GROUPS]:
        for target in merged:
            if _similar(group.key, target.key):
                target.rows.extend(group.rows)
                break
        else:
            merged.append(_Group(group.key, list(group.rows)))
    return merged


def _trend(
    category: str, group: _Group, now: datetime, weeks: int, min_tickets: int
) -> Trend | None:
    rows = group.rows
    requesters = len({r[2] for r in rows})
    agency, agency_count = Counter(r[3] for r in rows).most_common(1)[0]
    if len(rows) < min_tickets or (requesters < 3 and agency_count < min_tickets):
        return None
    weekly = [0] * weeks
    for *_, created in rows:
        index = weeks - 1 - int((now - created) / timedelta(days=7))
        if 0 <= index < weeks:
            weekly[index] += 1
    wording = Counter(r[1] for r in rows).most_common(1)[0][0]
    rising = weeks > 1 and weekly[-1] > weekly[-2]
    examples = tuple(
        (r[0], r[1]) for r in sorted(rows, key=lambda r: r[4], reverse=True)[:EXAMPLES]
    )
    return Trend(
        category,
        wording,
        len(rows),
        requesters,
        agency,
        agency_count,
        tuple(weekly),
        rising,
        examples,
    )
