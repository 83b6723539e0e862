"""The satisfaction survey: one invitation per resolved ticket, one rating, by web or by text."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tiket.inbound.sms import phone_of
from tiket.model import Event, Survey, Ticket, utcnow
from tiket.outbound import texts

if TYPE_CHECKING:
    from tiket.desk import Desk

log = logging.getLogger(__name__)

RATINGS = (1, 2, 3, 4, 5)
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Rated:
    ticket_id: int
    rating: int


def survey_url(desk: Desk, token: str) -> str:
    return f"{desk.settings.http.public_url.rstrip('/')}/survey/{token}"


def invite(desk: Desk, ticket: Ticket) -> Survey | None:
    """Queue the invitation once per ticket; None when the ticket has had one (or cannot)."""
    session = desk.session
    if ticket.merged_into_id is not None:
        return None
    if session.scalar(select(Survey.id).where(Survey.ticket_id == ticket.id)) is not None:
        return None
    channel = texts.answer_channel(session, ticket)
    requester = ticket.requester
    survey = Survey(
        ticket_id=ticket.id,
        token=secrets.token_urlsafe(24),
        channel=channel,
        phone=requester.phone if channel in texts.TEXT_CHANNELS else None,
        expires_at=utcnow() + timedelta(days=desk.settings.web.survey_days),
    )
    session.add(survey)
    session.flush()
    desk.tell_requester(
        ticket,
        "survey",
        survey_url=survey_url(desk, survey.token),
        days=desk.settings.web.survey_days,
    )
    session.add(
        Event(ticket_id=ticket.id, kind="survey_sent", actor="system", data={"channel": channel})
    )
    log.info("action=survey_sent ticket=%s channel=%s", ticket.number, channel)
    return survey


def send(desk: Desk, ticket: Ticket) -> None:
    """`invite` for callers that only need it done (the lifecycle job's resolution hook)."""
    invite(desk, ticket)


def by_token(session: Session, token: str) -> Survey | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Survey).where(Survey.token == token))


def record(session: Session, token: str, rating: int, comment: str, via: str = "web") -> str:
    """Store a rating once: 'recorded', or why not ('unknown', 'used', 'expired')."""
    if rating not in RATINGS:
        raise ValueError(f"a rating is 1 to 5, not {rating}")
    survey = by_token(session, token)
    if survey is None:
        return "unknown"
    now = utcnow()
    if survey.rating is not None:
        return "used"
    if survey.expires_at <= now:
        return "expired"
    # Single use even when two posts race: only the one that finds rating still NULL wins.
    done = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.rating.is_(None))
        .values(rating=rating, comment=comment[:MAX_COMMENT], answered_at=now, answered_by=via)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return "used"
    session.add(
        Event(ticket_id=survey.ticket_id, kind="survey_rated", actor=via, data={"rating": rating})
    )
    session.expire(survey)
    log.info("action=survey_rated ticket_id=%d rating=%d via=%s", survey.ticket_id, rating, via)
    return "recorded"


def record_text_rating(session: Session, sender: str, text: str) -> Rated | None:
    """A text that is just 1-5 from a number with an open survey is its answer; else None."""
    answer = text.strip().rstrip(".")
    if len(answer) != 1 or not answer.isdigit() or int(answer) not in RATINGS:
        return None
    phone = phone_of(sender)
    survey = session.scalar(
        select(Survey)
        .where(Survey.phone == phone, Survey.rating.is_(None), Survey.expires_at > utcnow())
        .order_by(Survey.created_at.desc(), Survey.id.desc())
        .limit(1)
    )
    if survey is None:
        return None
    via = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    if record(session, survey.token, int(answer), "", via=via) != "recorded":
        return None
    return Rated(survey.ticket_id, int(answer))
