"""Processing one inbound row: parse it, run the pipeline, and let the desk apply the decision."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, defer

from tiket import survey
from tiket.apply import Outcome, apply
from tiket.config import Settings
from tiket.desk import Desk
from tiket.errors import DatabaseUnavailable, Discarded, PermanentError, TemporaryError
from tiket.inbound import web
from tiket.inbound.parse import parse
from tiket.inbound.store import original
from tiket.lookup import DbLookup
from tiket.memo import Memo
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

RETRY_DELAY = timedelta(seconds=2)  # after a temporary failure (the mail it answers is queued)


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


@dataclass(frozen=True)
class Processed:
    """What happened to one row; `deferred` rows stay queued and are tried again later."""

    inbound_id: int
    summary: str
    deferred: bool = False


def process_batch(
    db: Database,
    settings: Settings,
    secret: bytes,
    ids: Sequence[int],
    *,
    budget_seconds: float = 0.2,
) -> list[Processed]:
    """Process rows in one transaction until they are done or the time budget is spent.

    One commit (one fsync, one turn at SQLite's write lock) serves the whole batch. Each row
    has its own savepoint, so a row that fails is quarantined alone, and a row that meets a
    temporary failure is put back for a little later. Trouble with the database itself ends
    the batch (nothing of it is committed). Rows another worker holds are skipped. On SQLite
    the batch also ends, after the row at hand, as soon as another thread (the accept path,
    a deliverer) waits for its turn at the database; the budget bounds the rest.
    """
    done: list[Processed] = []
    deadline = time.monotonic() + budget_seconds
    memo = Memo()
    with db.session() as session:
        for inbound_id in ids:
            result = _process_row(session, db, settings, secret, inbound_id, memo)
            if result is not None:
                done.append(result)
            if time.monotonic() >= deadline or (done and db.others_waiting()):
                break
    return done


def process_one(db: Database, settings: Settings, secret: bytes, inbound_id: int) -> str | None:
    """Process one row in one transaction; returns what happened, None when another took it."""
    for result in process_batch(db, settings, secret, [inbound_id]):
        if result.deferred:
            raise TemporaryError(result.summary)
        return result.summary
    return None


def _process_row(
    session: Session, db: Database, settings: Settings, secret: bytes, inbound_id: int, memo: Memo
) -> Processed | None:
    query = (
        select(InboundMessage)
        .options(defer(InboundMessage.raw))  # read by `original`, a large one in pieces
        .where(InboundMessage.id == inbound_id, InboundMessage.state == InboundState.QUEUED)
    )
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    row = session.scalar(query)
    if row is None:
        return None
    try:
        with session.begin_nested():
            outcome = _process(session, settings, secret, row, memo)
    except OperationalError as exc:  # the database, not the message: retry the whole batch
        raise DatabaseUnavailable(f"database trouble while processing: {exc.orig}") from exc
    except TemporaryError as exc:
        log.warning("action=process_deferred inbound=%d error=%s", row.id, exc)
        row.next_attempt_at = utcnow() + RETRY_DELAY
        row.attempts += 1
        return Processed(row.id, f"deferred: {exc}", deferred=True)
    except Discarded as exc:
        _finish(row, InboundState.DISCARDED, str(exc))
        return Processed(row.id, f"discarded: {exc}")
    except PermanentError as exc:
        _finish(row, InboundState.FAILED, str(exc))
        log.warning("action=quarantined inbound=%d reason=%s", row.id, exc)
        return Processed(row.id, f"quarantined: {exc}")
    except Exception as exc:  # a bug must not lose the message: quarantine it with the reason
        log.exception("action=quarantined inbound=%d", row.id)
        _finish(row, InboundState.FAILED, f"{type(exc).__name__}: {exc}")
        return Processed(row.id, f"quarantined: {type(exc).__name__}: {exc}")
    _finish(row, InboundState.DONE, None)
    row.ticket_id = outcome.ticket_id
    return Processed(row.id, outcome.summary)


def _process(
    session: Session, settings: Settings, secret: bytes, row: InboundMessage, memo: Memo
) -> Outcome:
    raw = original(session, row)
    if raw is None:
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
        return _process_web(session, settings, secret, row, raw, memo)
    else:
        message = to_message(row, parse(raw))
    del raw  # a 25 MB attachment's mail: only its decoded parts stay, not the original too
    ctx = pipeline.run(message, DbLookup(session, settings, secret, memo))
    desk = Desk(session, settings, secret, memo)
    outcome = apply(desk, ctx)
    session.flush()
    return outcome


def _process_web(
    session: Session,
    settings: Settings,
    secret: bytes,
    row: InboundMessage,
    raw: bytes,
    memo: Memo,
) -> Outcome:
    """A report from the web form: the mail pipeline, with the requester's own category."""
    try:
        form = web.from_raw(raw)
    except ValueError as exc:
        raise PermanentError(str(exc)) from exc
    lookup = DbLookup(session, settings, secret, memo)
    ctx = pipeline.run(web.web_message(row, form, settings.mail.address), lookup)
    ctx = web.with_chosen_category(ctx, lookup, form)
    outcome = apply(Desk(session, settings, secret, memo), ctx)
    web.complete_requester(session, outcome.ticket_id, form)
    session.flush()
    return outcome


def _finish(row: InboundMessage, state: InboundState, error: str | None) -> None:
    row.attempts += 1  # counted here, not before processing: one UPDATE for the row
    row.state = state
    row.error = error
    row.processed_at = utcnow()
