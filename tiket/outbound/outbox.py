"""The outbox: every answer is queued in the transaction that caused it, then delivered once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from tiket.model import MessageRef, OutboxMessage, OutboxState, utcnow
from tiket.model.db import Database

log = logging.getLogger(__name__)

# A claimed row is the claimer's for this long from its claim (or its last renewal); after it,
# another worker may take the row again, so that a dead daemon's claims are not lost.
SENDING_LEASE = timedelta(minutes=5)
# A claim is known by the row's `attempts`, which each claim increases and nothing else changes:
# a worker still holds its claim while the row is sending at the attempts it claimed it with.
# Everything a worker writes after its claim is conditional on that, so a late finisher whose
# lease ran out (a slow smarthost) never overwrites what the new owner does (see `_held`).


def enqueue(
    session: Session,
    *,
    ticket_id: int | None,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    message_id: str,
    payload: bytes | None,
) -> OutboxMessage:
    row = OutboxMessage(
        ticket_id=ticket_id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        subject=subject[:998],  # the column; a template around a long subject can pass it
        body=body,
        message_id=message_id,
        payload=payload,
    )
    session.add(row)
    if ticket_id is not None and channel == "email":
        session.add(
            MessageRef(
                message_id=message_id, ticket_id=ticket_id, direction="out", recipient=recipient
            )
        )
    return row


def backoff(attempts: int, base: float, ceiling: float) -> timedelta:
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Claim:
    """How a claim is known: the row's attempts it set, and (from a journal) the instant it
    stamped into `next_attempt_at`, which no other worker's claim shares."""

    attempts: int
    at: datetime | None = None


def claim(
    db: Database,
    channels: Sequence[str],
    limit: int = 20,
    *,
    before_commit: Callable[[list[OutboxMessage]], None] | None = None,
) -> list[OutboxMessage]:
    """Take due rows and mark them sending, committed, so that another worker skips them.

    `before_commit` sees the rows once their claim is written and before it commits: a
    deliverer journals them there, so that no instant exists in which a claim is committed
    and not journaled (a kill then would leave the rows to the lease).
    """
    now = utcnow()
    with db.session() as session:
        stale = now - SENDING_LEASE
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.channel.in_(channels))
            .where(
                or_(
                    (OutboxMessage.state == OutboxState.QUEUED)
                    & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.state == OutboxState.SENDING)
                    & (OutboxMessage.next_attempt_at <= stale),
                )
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            row.state = OutboxState.SENDING
            row.attempts += 1
            row.next_attempt_at = now
        if rows and before_commit is not None:
            session.flush()
            before_commit(rows)
    return rows


def _held(row: OutboxMessage) -> ColumnElement[bool]:
    """The row is still sending under the claim that returned `row`."""
    return (
        (OutboxMessage.id == row.id)
        & (OutboxMessage.state == OutboxState.SENDING)
        & (OutboxMessage.attempts == row.attempts)
    )


def _lost(row: OutboxMessage, step: str) -> None:
    log.warning(
        "action=outbox_lease_lost outbox=%d attempts=%d step=%s: another worker claimed the row "
        "after this worker's lease ran out; leaving the row to it",
        row.id,
        row.attempts,
        step,
    )


def renew(db: Database, row: OutboxMessage) -> bool:
    """Restart the lease just before sending; False when another worker holds the row now."""
    with db.session() as session:
        result = session.execute(
            update(OutboxMessage).where(_held(row)).values(next_attempt_at=utcnow())
        )
        held = bool(result.rowcount)  # type: ignore[attr-defined]
    if not held:
        _lost(row, "send")
    return held


def mark_sent(
    db: Database,
    row: OutboxMessage,
    provider_id: str | None = None,
    *,
    delivery_status: str | None = None,
) -> bool:
    """Mark a row this worker claimed sent; False (and logged) when its claim was lost."""
    return mark_sent_many(db, [(row, provider_id)], delivery_status=delivery_status)[0]


def mark_sent_many(
    db: Database,
    sent: Sequence[tuple[OutboxMessage, str | None]],
    *,
    delivery_status: str | None = None,
) -> list[bool]:
    """`mark_sent` for several rows (with their provider ids) in one transaction."""
    now = utcnow()
    values: dict[str, object] = {"state": OutboxState.SENT, "sent_at": now, "last_error": None}
    if delivery_status is not None:
        values.update(delivery_status=delivery_status, delivery_updated_at=now)
    with db.session() as session:
        held = [
            bool(
                session.execute(  # type: ignore[attr-defined]
                    update(OutboxMessage)
                    .where(_held(row))
                    .values(provider_id=provider_id, **values)
                ).rowcount
            )
            for row, provider_id in sent
        ]
    for (row, _), kept in zip(sent, held, strict=True):
        if not kept:
            _lost(row, "mark_sent")
    return held


def give_up(session: Session, row: OutboxMessage, error: str) -> bool:
    """Mark a row this worker claimed failed for good, in the caller's transaction."""
    result = session.execute(
        update(OutboxMessage)
        .where(_held(row))
        .values(state=OutboxState.FAILED, last_error=error[:2000])
    )
    held = bool(result.rowcount)  # type: ignore[attr-defined]
    if not held:
        _lost(row, "give_up")
    return held


def settle(db: Database, sent: Iterable[int], claimed: Mapping[int, Claim]) -> tuple[int, int]:
    """Finish what a dead round left: mark `sent` rows sent, put back rows it still holds.

    A claimed row is put back only while it is still in the claim that round made (same
    attempts and, when known, the same stamp; still sending): a row that another worker has
    taken since is left to it, and so is one whose claim never committed.
    """
    done = set(sent)
    marked = released = 0
    with db.session() as session:
        if done:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(done), OutboxMessage.state != OutboxState.SENT)
                .values(state=OutboxState.SENT, sent_at=utcnow(), last_error=None)
            )
            marked = int(result.rowcount or 0)  # type: ignore[attr-defined]
        for row_id, held in claimed.items():
            if row_id in done:
                continue
            query = update(OutboxMessage).where(
                OutboxMessage.id == row_id,
                OutboxMessage.state == OutboxState.SENDING,
                OutboxMessage.attempts == held.attempts,
            )
            if held.at is not None:
                query = query.where(OutboxMessage.next_attempt_at == held.at)
            result = session.execute(
                query.values(state=OutboxState.QUEUED, next_attempt_at=utcnow())
            )
            released += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return marked, released


def mark_failed(
    db: Database,
    row: OutboxMessage,
    error: str,
    *,
    permanent: bool,
    base: float,
    ceiling: float,
    max_attempts: int,
) -> bool:
    """Put a row this worker claimed back for a retry, or fail it; False when its claim was lost."""
    final = permanent or row.attempts >= max_attempts
    state = OutboxState.FAILED if final else OutboxState.QUEUED
    with db.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(_held(row))
            .values(
                state=state,
                last_error=error[:2000],
                next_attempt_at=utcnow() + backoff(row.attempts, base, ceiling),
            )
        )
        held = bool(result.rowcount)  # type: ignore[attr-defined]
    if not held:
        _lost(row, "mark_failed")
        return False
    log.warning(
        "action=outbox_%s outbox=%d recipient=%s attempts=%d error=%s",
        "failed" if final else "retry",
        row.id,
        row.recipient,
        row.attempts,
        error,
    )
    return True
