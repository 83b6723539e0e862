"""Retention: raw originals, attachments and finally the people of closed tickets expire.

Three steps, each keyed on the ticket's `closed_at` and the `[retention]` settings:
raw inbound originals go after `raw_days` (the parsed history stays), attachments and text
media after `attachment_days`, and after `anonymise_years` the ticket's requester becomes a
pseudonym and every address and phone number leaves its history (category, team, dates and
metrics stay, so reports keep adding up). Each step selects only what is still to do and
commits in batches: a run that stops half-way is finished by the next, a second run is empty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.model import (
    Attachment,
    Entry,
    Event,
    InboundMedia,
    InboundMessage,
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
from tiket.privacy.compact import compact, remove_outbox_files
from tiket.privacy.redact import Redactor

log = logging.getLogger(__name__)

BATCH = 200
MAX_BATCHES = 100_000
PSEUDONYM = "pseudonym-"


@dataclass
class RetentionResult:
    raw_messages: int = 0
    attachments: int = 0
    media: int = 0
    anonymised_tickets: int = 0
    numbers: list[str] = field(default_factory=list)  # tickets anonymised (or that would be)

    def summary(self, dry_run: bool = False) -> str:
        verb = "would remove" if dry_run else "removed"
        return (
            f"{verb} {self.raw_messages} raw messages, {self.attachments} attachments, "
            f"{self.media} media; {'would anonymise' if dry_run else 'anonymised'} "
            f"{self.anonymised_tickets} tickets"
        )


@dataclass(frozen=True)
class Cutoffs:
    raw: datetime
    attachments: datetime
    anonymise: datetime

    @classmethod
    def at(cls, settings: Settings, now: datetime) -> Cutoffs:
        cfg = settings.retention
        return cls(
            raw=now - timedelta(days=cfg.raw_days),
            attachments=now - timedelta(days=cfg.attachment_days),
            anonymise=now - timedelta(days=365 * cfg.anonymise_years + cfg.anonymise_years // 4),
        )


def _closed_before(cutoff: datetime) -> ColumnElement[bool]:
    return and_(Ticket.closed_at.is_not(None), Ticket.closed_at <= cutoff)


def _raw_ids(session: Session, cutoff: datetime, limit: int) -> list[int]:
    query = (
        select(InboundMessage.id)
        .join(Ticket, Ticket.id == InboundMessage.ticket_id)
        .where(_closed_before(cutoff), InboundMessage.raw.is_not(None))
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _attachment_ids(session: Session, cutoff: datetime, limit: int) -> list[int]:
    query = (
        select(Attachment.id)
        .join(Entry, Entry.id == Attachment.entry_id)
        .join(Ticket, Ticket.id == Entry.ticket_id)
        .where(_closed_before(cutoff))
        .order_by(Attachment.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _media_ids(session: Session, cutoff: datetime, limit: int) -> list[int]:
    query = (
        select(InboundMedia.id)
        .join(InboundMessage, InboundMessage.id == InboundMedia.inbound_id)
        .join(Ticket, Ticket.id == InboundMessage.ticket_id)
        .where(_closed_before(cutoff), InboundMedia.data.is_not(None))
        .order_by(InboundMedia.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _tickets_to_anonymise(session: Session, cutoff: datetime, limit: int) -> list[Ticket]:
    query = (
        select(Ticket)
        .join(Requester, Requester.id == Ticket.requester_id)
        .where(_closed_before(cutoff), ~Requester.name.startswith(PSEUDONYM))
        .order_by(Ticket.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def plan(db: Database, settings: Settings, now: datetime) -> RetentionResult:
    """What a run at `now` would do, changing nothing."""
    cut = Cutoffs.at(settings, now)
    big = 10**9
    with db.session() as session:
        tickets = _tickets_to_anonymise(session, cut.anonymise, big)
        return RetentionResult(
            raw_messages=len(_raw_ids(session, cut.raw, big)),
            attachments=len(_attachment_ids(session, cut.attachments, big)),
            media=len(_media_ids(session, cut.attachments, big)),
            anonymised_tickets=len(tickets),
            numbers=[t.number for t in tickets],
        )


def run(db: Database, settings: Settings, now: datetime | None = None) -> RetentionResult:
    """Apply retention at `now`, one batch a transaction, until nothing is left."""
    now = now or utcnow()
    cut = Cutoffs.at(settings, now)
    done = RetentionResult()
    for _ in range(MAX_BATCHES):  # each batch shrinks what is left; bounded all the same
        if not _step(db, cut, done, settings.outbox_dir):
            break
    if done.raw_messages or done.attachments or done.media or done.anonymised_tickets:
        compact(db)  # SQLite: no erased bytes left in free pages or the WAL
    log.info(
        "action=retention raw=%d attachments=%d media=%d anonymised=%d",
        done.raw_messages,
        done.attachments,
        done.media,
        done.anonymised_tickets,
    )
    return done


def _step(db: Database, cut: Cutoffs, done: RetentionResult, outbox_dir: Path) -> bool:
    """One batch of each kind in one transaction; False when there was nothing left."""
    outbox_ids: list[int] = []
    with db.session() as session:
        raw = _raw_ids(session, cut.raw, BATCH)
        for message in session.scalars(select(InboundMessage).where(InboundMessage.id.in_(raw))):
            message.raw = None
        attachments = _attachment_ids(session, cut.attachments, BATCH)
        for attachment in session.scalars(select(Attachment).where(Attachment.id.in_(attachments))):
            session.delete(attachment)
        media = _media_ids(session, cut.attachments, BATCH)
        for item in session.scalars(select(InboundMedia).where(InboundMedia.id.in_(media))):
            item.data = None
        tickets = _tickets_to_anonymise(session, cut.anonymise, BATCH)
        originals = {ticket.requester_id for ticket in tickets}
        for ticket in tickets:
            outbox_ids += anonymise(session, ticket)
        _drop_unused(session, originals)
        done.raw_messages += len(raw)
        done.attachments += len(attachments)
        done.media += len(media)
        done.anonymised_tickets += len(tickets)
        done.numbers += [t.number for t in tickets]
    remove_outbox_files(outbox_dir, outbox_ids)  # after the commit: the rows no longer need them
    return bool(raw or attachments or media or tickets)


def _drop_unused(session: Session, requester_ids: set[int]) -> None:
    """A person none of whose tickets is left under their name is forgotten altogether:
    the row, a bounce suppression and a text opt-out (after years without a ticket)."""
    session.flush()
    for requester_id in requester_ids:
        in_use = session.scalars(
            select(Ticket.id).where(Ticket.requester_id == requester_id).limit(1)
        ).first()
        if in_use is None:
            person = session.get_one(Requester, requester_id)
            if person.email:
                session.execute(delete(Suppression).where(Suppression.address == person.email))
            if person.phone:
                session.execute(delete(TextOptOut).where(TextOptOut.phone == person.phone))
            session.delete(person)


def pseudonym_for(session: Session, requester: Requester) -> Requester:
    """One pseudonym per person, so counts of distinct requesters and agencies stay right."""
    name = f"{PSEUDONYM}{requester.id}"
    found = session.scalars(select(Requester).where(Requester.name == name)).first()
    if found is None:
        found = Requester(
            name=name, organisation=requester.organisation, language=requester.language
        )
        session.add(found)
        session.flush()
    return found


def anonymise(session: Session, ticket: Ticket) -> list[int]:
    """Replace the requester by a pseudonym; take every address and phone number out.

    Returns the ticket's outbox ids, whose .eml records must go too."""
    outbox_ids = []
    requester = ticket.requester
    names = [requester.name] if requester.name else []
    redactor = Redactor([*names, requester.email or "", requester.phone or ""])
    ticket.requester_id = pseudonym_for(session, requester).id
    ticket.subject = redactor.text(ticket.subject)
    for entry in session.scalars(select(Entry).where(Entry.ticket_id == ticket.id)):
        for attr in ("subject", "body", "quoted", "author_name", "author_address"):
            setattr(entry, attr, redactor.text(getattr(entry, attr)))
    for event in session.scalars(select(Event).where(Event.ticket_id == ticket.id)):
        event.data = redactor.json(event.data)
        event.actor = redactor.text(event.actor)
    for message in session.scalars(
        select(InboundMessage).where(InboundMessage.ticket_id == ticket.id)
    ):
        message.raw, message.envelope_from, message.envelope_to = None, "", []
        message.meta = {}
    for out in session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)):
        outbox_ids.append(out.id)
        out.recipient, out.payload = "anonymised@invalid", None
        out.subject, out.body = redactor.text(out.subject), redactor.text(out.body)
    for ref in session.scalars(select(MessageRef).where(MessageRef.ticket_id == ticket.id)):
        ref.recipient = ""
    for survey in session.scalars(select(Survey).where(Survey.ticket_id == ticket.id)):
        survey.phone, survey.comment = None, redactor.text(survey.comment)
    for solution in session.scalars(select(Solution).where(Solution.ticket_id == ticket.id)):
        solution.problem, solution.body = (
            redactor.text(solution.problem),
            redactor.text(solution.body),
        )
        solution.updated_at = utcnow()  # every similarity index re-reads it
    for watcher in session.scalars(select(Watcher).where(Watcher.ticket_id == ticket.id)):
        session.delete(watcher)
    return outbox_ids
