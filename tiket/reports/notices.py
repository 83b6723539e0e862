"""Once-only notices about a ticket: a unique (ticket, notice) row claims the right to send."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tiket.model import TicketNotice, utcnow


def claim_notice(session: Session, ticket_id: int, notice: str) -> bool:
    """True if this call recorded the notice (so it must be sent), False if it was already."""
    found = session.scalar(
        select(TicketNotice.id).where(
            TicketNotice.ticket_id == ticket_id, TicketNotice.notice == notice
        )
    )
    if found is not None:
        return False
    try:
        with session.begin_nested():
            session.add(TicketNotice(ticket_id=ticket_id, notice=notice, created_at=utcnow()))
            session.flush()
    except IntegrityError:
        return False
    return True
