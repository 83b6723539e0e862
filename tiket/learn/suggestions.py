"""The pipeline's questions to what tiket learned, and the desk's part in offering solutions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.desk import Actor, Desk
from tiket.learn import solutions
from tiket.learn.classifier import current_for
from tiket.learn.index import index_for
from tiket.model import Ticket, utcnow
from tiket.model.learn import ClassifiedTicket, Solution
from tiket.rules.context import Context, Similar

log = logging.getLogger(__name__)

EXCERPT_CHARS = 600


def similar_solved(
    session: Session, settings: Settings, text: str, limit: int
) -> tuple[Similar, ...]:
    index = index_for(settings.database_url)
    index.refresh_due(session)
    found = index.search(text, limit)
    if not found:
        return ()
    # The rows have the last word: a change elsewhere may not be read yet, and a deleted
    # ticket (erasure) takes its solution with it without any row left to announce it.
    still = set(
        session.scalars(
            select(Solution.id)
            .join(Ticket, Ticket.id == Solution.ticket_id)
            .where(
                Solution.id.in_([f.solution_id for f in found]),
                Solution.hidden.is_(False),
                Ticket.status.in_(solutions.SOLVED),
            )
        )
    )
    index.forget([f.solution_id for f in found if f.solution_id not in still])
    return tuple(
        Similar(f.solution_id, f.number, round(f.score, 4), f.solution)
        for f in found
        if f.solution_id in still
    )


def predict_category(session: Session, settings: Settings, text: str) -> tuple[str, float] | None:
    prediction = current_for(settings.database_url).predict(session, text)
    if prediction is None:
        return None
    return prediction.category, prediction.confidence


def on_open(desk: Desk, ticket: Ticket, ctx: Context) -> dict[str, Any]:
    """A new ticket: note a category the classifier chose; offer the similar solutions."""
    if ctx.category and any(d.stage == "learned" and d.outcome == "hit" for d in ctx.trace):
        confidence = float(ctx.extra.get("learned_confidence", 0.0))
        desk.session.add(
            ClassifiedTicket(
                ticket_id=ticket.id,
                category=ctx.category,
                confidence=confidence,
                created_at=utcnow(),
            )
        )
    return offer(desk, ticket, ctx.suggestions)


def offer(desk: Desk, ticket: Ticket, similar: Sequence[Similar]) -> dict[str, Any]:
    """Store what is offered to a new ticket; the values its ack and team mail show (or none)."""
    if not similar:
        return {}
    solutions.offer(
        desk.session, ticket, [solutions.Offered(s.solution_id, s.score) for s in similar]
    )
    desk.event(
        ticket,
        "suggested",
        Actor.system(),
        suggestions=[
            {"solution": s.solution_id, "ticket": s.number, "score": s.score} for s in similar
        ],
    )
    base = desk.settings.http.public_url.rstrip("/")
    return {
        "suggestions": [
            {
                "rank": rank,
                "number": s.number,
                "score": f"{s.score:.2f}",
                "solution": _excerpt(s.solution),
                "url": f"{base}/status/{s.number}",
            }
            for rank, s in enumerate(similar, start=1)
        ]
    }


def credit(desk: Desk, ticket: Ticket, reply: str, quoted: str, actor: Actor) -> None:
    """The requester closed after suggestions: record which one helped (see solutions.credit)."""
    chosen = solutions.credit(desk.session, ticket, reply, quoted)
    if chosen is not None:
        desk.event(
            ticket,
            "suggestion_" + chosen.outcome,
            actor,
            solution=chosen.solution_id,
            rank=chosen.rank,
        )
        log.info(
            "action=suggestion_%s ticket=%s solution=%d rank=%d",
            chosen.outcome,
            ticket.number,
            chosen.solution_id,
            chosen.rank,
        )


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
