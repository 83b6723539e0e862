"""Erasing one person: their data goes from every table and the outbox files; numbers stay.

The requester row stays as a pseudonym (`erased-<id>`) so that tickets, metrics and report
counts keep their shape; what they wrote, their addresses, phone numbers, raw messages,
attachments, media, outbox payloads and files, watchers, suppressions and opt-outs go. Where
other people's tickets quote, copy or name them, their address, phone number (in any
spelling) and full name go too (privacy/sweep.py). Knowledge-base rows that change get a newer
`updated_at`, so every daemon's similarity index re-reads them (learn/index.py); a stored
classifier, trained on the old text, is retrained or dropped (`relearn`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Delete, String, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.errors import Conflict
from tiket.model import (
    Attachment,
    Entry,
    Event,
    InboundMedia,
    InboundMessage,
    JobSend,
    MessageRef,
    OutboxMessage,
    Requester,
    Solution,
    Suppression,
    Survey,
    TextOptOut,
    Ticket,
    Watcher,
    utcnow,
)
from tiket.model.db import Database
from tiket.model.learn import LearnedModel
from tiket.privacy.compact import remove_outbox_files
from tiket.privacy.redact import Redactor, phone_forms
from tiket.privacy.sweep import sweep

log = logging.getLogger(__name__)


@dataclass
class Erasure:
    """What one erasure changed, counted by kind; all zero means nothing was left to erase."""

    counts: dict[str, int] = field(default_factory=dict)
    outbox_ids: list[int] = field(default_factory=list)  # every outbox row that was theirs
    configuration: dict[str, int] = field(default_factory=dict)  # set-up rows naming them

    def add(self, kind: str, n: int = 1) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def pseudonym(requester_id: int) -> str:
    return f"erased-{requester_id}"


def identifiers(session: Session, person: str) -> tuple[Requester | None, set[str]]:
    """The requester named by an address or phone number, and every form of them to look for."""
    person = person.strip()
    found = session.scalars(
        select(Requester).where(
            or_(
                func.lower(Requester.email) == person.lower(),
                Requester.phone.in_(sorted(phone_forms(person))),
            )
        )
    ).first()
    words = {person.lower()} if "@" in person else phone_forms(person) | {person}
    if found is not None:
        words |= {found.email.lower()} if found.email else set()
        words |= phone_forms(found.phone) if found.phone else set()
    return found, {w for w in words if w}


def erase(session: Session, person: str, outbox_dir: Path | None = None) -> Erasure:
    """Erase `person` (address or phone number) in the caller's transaction.

    With `outbox_dir`, the .eml records of their outbox rows are deleted too (before the
    commit: a failed commit leaves fewer files, never personal data the database lost).
    """
    done = Erasure()
    requester, words = identifiers(session, person)
    names = {requester.name} if requester is not None and requester.name else set()
    # Elsewhere only a full name is theirs with some certainty: "Budi" alone is many people.
    full_names = {n for n in names if len(n.split()) >= 2 and "@" not in n}
    redactor = Redactor(words | names)
    literal = Redactor(words, everyone=False)
    ticket_ids: list[int] = []
    if requester is not None:
        ticket_ids = list(
            session.scalars(select(Ticket.id).where(Ticket.requester_id == requester.id))
        )
        _erase_tickets(session, ticket_ids, redactor, done)
        _erase_requester(requester, done)
    _erase_elsewhere(session, ticket_ids, words, (redactor, literal), done)
    session.flush()
    swept = sweep(session, words | full_names, set(ticket_ids))
    for table, n in swept.changed.items():
        done.add(f"mentioned in {table}", n)
    done.outbox_ids += swept.outbox_ids
    done.configuration = swept.configuration
    session.expire_all()  # the sweep wrote with Core, past the objects loaded above
    if outbox_dir is not None:
        done.add("outbox_file", remove_outbox_files(outbox_dir, sorted(set(done.outbox_ids))))
    log.info("action=erase changed=%d", done.total)
    return done


def _delete(session: Session, statement: Delete) -> int:
    result = session.execute(statement)
    return int(cast_result(result).rowcount or 0)


def cast_result(result: object) -> CursorResult[Any]:
    assert isinstance(result, CursorResult)
    return result


def _changed(obj: object, attr: str, value: object, done: Erasure, kind: str) -> None:
    if getattr(obj, attr) != value:
        setattr(obj, attr, value)
        done.add(kind)


def _erase_requester(requester: Requester, done: Erasure) -> None:
    alias = pseudonym(requester.id)
    _changed(requester, "name", alias, done, "requester")
    _changed(requester, "email", None, done, "requester")
    _changed(requester, "phone", None, done, "requester")


def _erase_tickets(session: Session, ids: list[int], redactor: Redactor, done: Erasure) -> None:
    if not ids:
        return
    for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(ids))):
        _changed(ticket, "subject", redactor.text(ticket.subject), done, "ticket")
    entries = list(session.scalars(select(Entry).where(Entry.ticket_id.in_(ids))))
    for entry in entries:
        for attr in ("subject", "body", "quoted", "author_name", "author_address"):
            _changed(entry, attr, redactor.text(getattr(entry, attr)), done, "entry")
    removed = _delete(
        session, delete(Attachment).where(Attachment.entry_id.in_([e.id for e in entries]))
    )
    done.add("attachment", removed)
    for ref in session.scalars(select(MessageRef).where(MessageRef.ticket_id.in_(ids))):
        _changed(ref, "recipient", "", done, "message_ref")
    for event in session.scalars(select(Event).where(Event.ticket_id.in_(ids))):
        _changed(event, "data", redactor.json(event.data), done, "event")
        _changed(event, "actor", redactor.text(event.actor), done, "event")
    for survey in session.scalars(select(Survey).where(Survey.ticket_id.in_(ids))):
        _changed(survey, "phone", None, done, "survey")
        _changed(survey, "comment", redactor.text(survey.comment), done, "survey")
    for solution in session.scalars(select(Solution).where(Solution.ticket_id.in_(ids))):
        problem, body = redactor.text(solution.problem), redactor.text(solution.body)
        if (problem, body) != (solution.problem, solution.body):
            solution.problem, solution.body = problem, body
            solution.updated_at = utcnow()  # every index re-reads it
            done.add("solution")
    removed = _delete(session, delete(Watcher).where(Watcher.ticket_id.in_(ids)))
    done.add("watcher", removed)


def _erase_elsewhere(
    session: Session,
    ticket_ids: list[int],
    words: set[str],
    redactors: tuple[Redactor, Redactor],
    done: Erasure,
) -> None:
    """Rows that name the person outside their own tickets, and the queues of their tickets.

    Mail of their tickets loses names too (`full`); elsewhere only their identifiers go.
    Mentions anywhere else (a Cc list, a quote, a note) are the sweep's (privacy/sweep.py).
    """
    full, literal = redactors
    lowered = sorted(words)
    inbound = select(InboundMessage).where(
        or_(
            InboundMessage.ticket_id.in_(ticket_ids),
            func.lower(InboundMessage.envelope_from).in_(lowered),
        )
    )
    for row in session.scalars(inbound):
        media = _delete(session, delete(InboundMedia).where(InboundMedia.inbound_id == row.id))
        done.add("inbound_media", media)
        for attr, empty in (("raw", None), ("envelope_from", ""), ("error", None)):
            _changed(row, attr, empty, done, "inbound")
        _changed(row, "envelope_to", [], done, "inbound")
        _changed(row, "meta", {}, done, "inbound")
    outbox = select(OutboxMessage).where(
        or_(
            OutboxMessage.ticket_id.in_(ticket_ids),
            func.lower(OutboxMessage.recipient).in_(lowered),
        )
    )
    for out in session.scalars(outbox):
        if out.recipient.lower() in lowered:
            _changed(out, "recipient", "erased@invalid", done, "outbox")
        redactor = full if out.ticket_id in ticket_ids else literal
        _changed(out, "subject", redactor.text(out.subject), done, "outbox")
        _changed(out, "body", redactor.text(out.body), done, "outbox")
        _changed(out, "payload", None, done, "outbox")
        _changed(out, "last_error", None, done, "outbox")
        done.outbox_ids.append(out.id)
    for entry in session.scalars(
        select(Entry).where(func.lower(Entry.author_address).in_(lowered))
    ):
        _changed(entry, "author_address", "", done, "entry")
        _changed(entry, "body", literal.text(entry.body), done, "entry")
    for model, column in (
        (Watcher, Watcher.address),
        (Suppression, Suppression.address),
        (TextOptOut, TextOptOut.phone),
    ):
        removed = _delete(session, delete(model).where(func.lower(column).in_(lowered)))
        done.add(model.__tablename__, removed)
    for send in session.scalars(select(JobSend).where(func.lower(JobSend.recipient).in_(lowered))):
        _changed(send, "recipient", "erased@invalid", done, "job_send")
    for event in session.scalars(
        select(Event).where(or_(*(cast(Event.data, String).contains(w) for w in lowered)))
    ):
        _changed(event, "data", literal.json(event.data), done, "event")


def relearn(db: Database, settings: Settings) -> str:
    """Classifiers trained before an erasure hold its words in their vocabulary: train a new
    one on the erased history and drop the old ones (all of them when training cannot run).
    Returns what happened, or "" when no classifier was stored."""
    with db.session() as session:
        old = list(session.scalars(select(LearnedModel.id)))
    if not old:
        return ""
    from tiket.learn.training import retrain

    try:
        said = f"classifier retrained without them ({retrain(db, settings).summary()})"
    except Conflict as exc:
        said = f"classifier removed, not retrained: {exc}"
    with db.session() as session:
        session.execute(delete(LearnedModel).where(LearnedModel.id.in_(old)))
    return said
