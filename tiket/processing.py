"""Processing one inbound row: parse it, run the pipeline, and let the desk apply the decision."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket import survey
from tiket.apply import Outcome, apply
from tiket.config import Settings
from tiket.desk import Desk
from tiket.errors import Discarded, PermanentError, TemporaryError
from tiket.inbound import web
from tiket.inbound.parse import parse
from tiket.lookup import DbLookup
from tiket.messages import text_message, to_message
from tiket.model import (
    InboundMedia,
    InboundMessage,
    InboundState,
    utcnow,
)
from tiket.model.db import Database
from tiket.rules import pipeline
from tiket.rules.thread_phone import TEXT_CHANNELS

log = logging.getLogger(__name__)


def claim_batch(db: Database, limit: int) -> list[int]:
    """Ids of queued rows that are due, oldest first."""
    with db.session() as session:
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.state == InboundState.QUEUED)
                .where(InboundMessage.next_attempt_at <= utcnow())
                .order_by(InboundMessage.id)
                .limit(limit)
            )
        )


def process_one(db: Database, settings: Settings, secret: bytes, inbound_id: int) -> str | None:
    """Process one row in one transaction; returns what happened, None when another took it."""
    with db.session() as session:
        query = select(InboundMessage).where(
            InboundMessage.id == inbound_id, InboundMessage.state == InboundState.QUEUED
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        row = session.scalar(query)
        if row is None:
            return None
        row.attempts += 1
        try:
            with session.begin_nested():
                outcome = _process(session, settings, secret, row)
        except TemporaryError:
            raise
        except Discarded as exc:
            _finish(row, InboundState.DISCARDED, str(exc))
            return f"discarded: {exc}"
        except PermanentError as exc:
            _finish(row, InboundState.FAILED, str(exc))
            log.warning("action=quarantined inbound=%d reason=%s", row.id, exc)
            return f"quarantined: {exc}"
        except Exception as exc:  # a bug must not lose the message: quarantine it with the reason
            log.exception("action=quarantined inbound=%d", row.id)
            _finish(row, InboundState.FAILED, f"{type(exc).__name__}: {exc}")
            return f"quarantined: {type(exc).__name__}: {exc}"
        _finish(row, InboundState.DONE, None)
        row.ticket_id = outcome.ticket_id
        return outcome.summary


def _process(session: Session, settings: Settings, secret: bytes, row: InboundMessage) -> Outcome:
    if row.raw is None:
        raise PermanentError("the stored original is gone (erased or expired)")
    if row.channel in TEXT_CHANNELS:
        media = session.scalars(
            select(InboundMedia)
            .where(InboundMedia.inbound_id == row.id)
            .order_by(InboundMedia.position)
        ).all()
        message = text_message(row, media)
        rated = survey.record_text_rating(session, message.sender, message.text)
        if rated is not None:
            return Outcome(rated.ticket_id, f"survey rating {rated.rating} by text")
    elif row.channel == "web":
        return _process_web(session, settings, secret, row)
    else:
        message = to_message(row, parse(row.raw))
    ctx = pipeline.run(message, DbLookup(session, settings, secret))
    desk = Desk(session, settings, secret)
    outcome = apply(desk, ctx)
    session.flush()
    return outcome


def _process_web(
    session: Session, settings: Settings, secret: bytes, row: InboundMessage
) -> Outcome:
    """A report from the web form: the mail pipeline, with the requester's own category."""
    try:
        form = web.from_raw(row.raw or b"")
    except ValueError as exc:
        raise PermanentError(str(exc)) from exc
    lookup = DbLookup(session, settings, secret)
    ctx = pipeline.run(web.web_message(row, form, settings.mail.address), lookup)
    ctx = web.with_chosen_category(ctx, lookup, form)
    outcome = apply(Desk(session, settings, secret), ctx)
    web.complete_requester(session, outcome.ticket_id, form)
    session.flush()
    return outcome


def _finish(row: InboundMessage, state: InboundState, error: str | None) -> None:
    row.state = state
    row.error = error
    row.processed_at = utcnow()


def postpone(db: Database, inbound_id: int, delay: timedelta) -> None:
    with db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is not None:
            row.next_attempt_at = utcnow() + delay
