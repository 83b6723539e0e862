"""Caps on automatic mail and suppressed addresses: no mail storm with an autoresponder."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiket.config import LimitsSettings
from tiket.model import Event, OutboxMessage, OutboxState, Suppression, utcnow

# What a person wrote is never held back; what we send by ourselves is.
PERSONAL_KINDS = ("reply", "reply_watcher")


def hold_back(
    session: Session,
    limits: LimitsSettings,
    *,
    recipient: str,
    ticket_id: int | None,
    on_ticket: int | None = None,
) -> str | None:
    """Why an automatic mail to `recipient` must not go out now, or None when it may.

    `on_ticket`, when the caller knows it, is how many automatic mails the ticket had today.
    """
    now = utcnow()
    suppressed = session.get(Suppression, recipient.lower())
    if suppressed is not None and suppressed.until > now:
        return (
            f"address suppressed until {suppressed.until:%Y-%m-%d %H:%M} UTC: {suppressed.reason}"
        )
    window = now - timedelta(minutes=limits.window_minutes)
    day = now - timedelta(days=1)
    recent, daily = session.execute(  # both counts in one pass over the recipient's mail
        select(
            func.count(OutboxMessage.id).filter(OutboxMessage.created_at >= window),
            func.count(OutboxMessage.id).filter(OutboxMessage.created_at >= day),
        )
        .where(OutboxMessage.recipient == recipient)
        .where(OutboxMessage.kind.not_in(PERSONAL_KINDS))
        .where(OutboxMessage.state != OutboxState.SUPPRESSED)
        .where(OutboxMessage.created_at >= min(window, day))
    ).one()
    if recent >= limits.per_recipient_window:
        return (
            f"more than {limits.per_recipient_window} automatic mails to {recipient} in "
            f"{limits.window_minutes} minutes"
        )
    if daily >= limits.per_recipient_day:
        return f"more than {limits.per_recipient_day} automatic mails to {recipient} in a day"
    if ticket_id is not None and on_ticket is None:
        on_ticket = session.scalar(
            select(func.count(OutboxMessage.id))
            .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.created_at >= day)
            .where(OutboxMessage.kind.not_in(PERSONAL_KINDS))
        )
    if ticket_id is not None and (on_ticket or 0) >= limits.per_ticket_day:
        return f"more than {limits.per_ticket_day} automatic mails on this ticket in a day"
    return None


def should_alert(session: Session, recipient: str) -> bool:
    """True once a day per address: the admin hears of a storm, not of every held mail."""
    since = utcnow() - timedelta(days=1)
    alerts = session.scalars(
        select(Event.data).where(Event.kind == "storm_alert", Event.created_at >= since)
    )
    return all(data.get("recipient") != recipient for data in alerts)


def suppress(session: Session, address: str, *, days: int, reason: str) -> None:
    address = address.lower()
    until = utcnow() + timedelta(days=days)
    row = session.get(Suppression, address)
    if row is None:
        session.add(Suppression(address=address, reason=reason, until=until, created_at=utcnow()))
    else:
        row.until, row.reason = max(row.until, until), reason
