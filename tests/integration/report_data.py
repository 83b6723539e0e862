"""A small hand-built month of tickets whose report figures are worked out by hand (October 2026,
Asia/Makassar, office hours mon-thu 08:00-16:00 and fri 08:00-16:30, targets 4 h and 24 h)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.model import Category, Event, Requester, Team, Ticket

TZ = ZoneInfo("Asia/Makassar")
MANAGER = "boss@pemda.test"
NETWORK_MAILBOX = "network@pemda.test"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def add_network_team(session: Session) -> Team:
    team = Team(name="network", title="Network", mailbox=NETWORK_MAILBOX, managers=[MANAGER])
    session.add(team)
    session.flush()
    category = session.scalar(select(Category).where(Category.slug == "network"))
    assert category is not None
    category.team_id = team.id
    return team


def requester(session: Session, email: str, organisation: str) -> Requester:
    found = session.scalar(select(Requester).where(Requester.email == email))
    if found is None:
        found = Requester(email=email, name=email.split("@")[0], organisation=organisation)
        session.add(found)
        session.flush()
    return found


def ticket(
    session: Session,
    number: str,
    *,
    category: str,
    channel: str,
    who: Requester,
    created: datetime,
    subject: str = "",
    first_response: datetime | None = None,
    resolved: datetime | None = None,
    closed: datetime | None = None,
    status: str | None = None,
    priority: str = "normal",
) -> Ticket:
    cat = session.scalar(select(Category).where(Category.slug == category))
    assert cat is not None
    row = Ticket(
        number=number,
        subject=subject or f"problem {number}",
        status=status or ("closed" if closed else "resolved" if resolved else "open"),
        priority=priority,
        channel=channel,
        language="en",
        category_id=cat.id,
        team_id=cat.team_id,
        requester_id=who.id,
        created_at=created,
        updated_at=created,
        first_response_at=first_response,
        resolved_at=resolved,
        closed_at=closed,
    )
    session.add(row)
    session.flush()
    return row


def october(session: Session) -> dict[str, Ticket]:
    add_network_team(session)
    a1 = requester(session, "ani@dinas-a.test", "Dinas A")
    a2 = requester(session, "adi@dinas-a.test", "Dinas A")
    b1 = requester(session, "budi@dinas-b.test", "Dinas B")
    nobody = requester(session, "x@unknown.test", "")
    t = {
        # first response 60 min, resolution 360 min; closed 2 Oct
        "T1": ticket(session, "T1", category="application", channel="email", who=a1,
                     subject="Aplikasi SIMPEG error", created=local(2026, 10, 1, 9),
                     first_response=local(2026, 10, 1, 10), resolved=local(2026, 10, 1, 15),
                     closed=local(2026, 10, 2, 10)),
        # Friday 16:00 → Monday: first response 30 + 30 = 60, resolution 30 + 240 = 270
        "T2": ticket(session, "T2", category="application", channel="whatsapp", who=a1,
                     created=local(2026, 10, 2, 16), first_response=local(2026, 10, 5, 8, 30),
                     resolved=local(2026, 10, 5, 12), closed=local(2026, 10, 5, 13)),
        # first response 300 (late); resolution 420 + 480 + 480 + 60 = 1440 (just in time)
        "T3": ticket(session, "T3", category="network", channel="email", who=b1,
                     created=local(2026, 10, 5, 9), first_response=local(2026, 10, 5, 14),
                     resolved=local(2026, 10, 8, 9)),
        "T4": ticket(session, "T4", category="network", channel="sms", who=b1,
                     created=local(2026, 10, 6, 9)),
        # opened in September; resolved 1 Oct (360 + 120 = 480), closed Saturday 3 Oct
        "T5": ticket(session, "T5", category="network", channel="email", who=nobody,
                     created=local(2026, 9, 30, 10), first_response=local(2026, 9, 30, 11),
                     resolved=local(2026, 10, 1, 10), closed=local(2026, 10, 3, 9)),
        "T6": ticket(session, "T6", category="application", channel="email", who=a2,
                     subject="aplikasi simpeg error ", created=local(2026, 10, 20, 9),
                     first_response=local(2026, 10, 20, 9, 30)),
        "T7": ticket(session, "T7", category="application", channel="web", who=a2,
                     created=local(2026, 11, 2, 9)),
    }  # fmt: skip
    session.add_all(
        [
            Event(ticket_id=t["T1"].id, kind="status", data={"old": "closed", "new": "open"},
                  created_at=local(2026, 10, 10, 9)),
            Event(ticket_id=t["T1"].id, kind="survey_rated", data={"rating": 5},
                  created_at=local(2026, 10, 3, 9)),
            Event(ticket_id=t["T2"].id, kind="survey_rated", data={"rating": 3},
                  created_at=local(2026, 10, 6, 9)),
            Event(ticket_id=t["T3"].id, kind="survey_rated", data={"rating": 1},
                  created_at=local(2026, 11, 6, 9)),
            Event(ticket_id=t["T3"].id, kind="status", data={"old": "new", "new": "open"},
                  created_at=local(2026, 10, 5, 14)),
        ]
    )  # fmt: skip
    return t
