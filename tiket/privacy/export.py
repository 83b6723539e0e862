"""Exporting one person's data: a ZIP with `index.json` and the files (attachments, media,
raw originals), readable by a person."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tiket.errors import NotFound
from tiket.model import (
    Attachment,
    Entry,
    Event,
    InboundMedia,
    InboundMessage,
    OutboxMessage,
    Requester,
    Solution,
    Suggestion,
    Suppression,
    Survey,
    TextOptOut,
    Ticket,
    Watcher,
)
from tiket.privacy.erase import identifiers


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Bundle:
    """The index and the files of one export, written to a ZIP at the end."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return name


def collect(session: Session, person: str) -> tuple[Requester, dict[str, Any], Bundle]:
    """Everything stored about `person` (address or phone number)."""
    requester, words = identifiers(session, person)
    if requester is None:
        raise NotFound(f"no requester {person}")
    bundle = Bundle()
    lowered = sorted(words)
    tickets = list(
        session.scalars(
            select(Ticket).where(Ticket.requester_id == requester.id).order_by(Ticket.id)
        )
    )
    ids = [t.id for t in tickets]
    inbound = list(
        session.scalars(
            select(InboundMessage)
            .where(
                or_(
                    InboundMessage.ticket_id.in_(ids),
                    func.lower(InboundMessage.envelope_from).in_(lowered),
                )
            )
            .order_by(InboundMessage.id)
        )
    )
    outbox = session.scalars(
        select(OutboxMessage)
        .where(
            or_(
                func.lower(OutboxMessage.recipient).in_(lowered),
                OutboxMessage.ticket_id.in_(ids),
            )
        )
        .order_by(OutboxMessage.id)
    )
    index = {
        "requester": {
            "id": requester.id,
            "name": requester.name,
            "email": requester.email,
            "phone": requester.phone,
            "organisation": requester.organisation,
            "language": requester.language,
            "created_at": _iso(requester.created_at),
        },
        "tickets": [_ticket(session, t, bundle) for t in tickets],
        "inbound_messages": [_inbound(session, m, bundle) for m in inbound],
        "outbox": [
            {
                "id": o.id,
                "ticket_id": o.ticket_id,
                "kind": o.kind,
                "channel": o.channel,
                "recipient": o.recipient,
                "subject": o.subject,
                "body": o.body,
                "state": o.state,
                "created_at": _iso(o.created_at),
                "sent_at": _iso(o.sent_at),
            }
            for o in outbox
        ],
        "watching": [
            {"ticket_id": w.ticket_id, "address": w.address, "since": _iso(w.created_at)}
            for w in session.scalars(
                select(Watcher).where(func.lower(Watcher.address).in_(lowered))
            )
        ],
        "suppressions": [
            {"address": s.address, "reason": s.reason, "until": _iso(s.until)}
            for s in session.scalars(
                select(Suppression).where(func.lower(Suppression.address).in_(lowered))
            )
        ],
        "text_opt_outs": [
            {"phone": o.phone, "source": o.source, "since": _iso(o.created_at)}
            for o in session.scalars(select(TextOptOut).where(TextOptOut.phone.in_(lowered)))
        ],
    }
    return requester, index, bundle


def _ticket(session: Session, ticket: Ticket, bundle: Bundle) -> dict[str, Any]:
    entries = session.scalars(select(Entry).where(Entry.ticket_id == ticket.id).order_by(Entry.id))
    survey = session.scalars(select(Survey).where(Survey.ticket_id == ticket.id)).first()
    solution = session.scalars(select(Solution).where(Solution.ticket_id == ticket.id)).first()
    events = session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id))
    suggestions = session.scalars(
        select(Suggestion).where(Suggestion.ticket_id == ticket.id).order_by(Suggestion.rank)
    )
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "channel": ticket.channel,
        "category": ticket.category.slug if ticket.category else None,
        "team": ticket.team.name if ticket.team else None,
        "created_at": _iso(ticket.created_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "entries": [_entry(e, ticket.number, bundle) for e in entries],
        "events": [
            {"kind": e.kind, "actor": e.actor, "data": e.data, "at": _iso(e.created_at)}
            for e in events
        ],
        "survey": None
        if survey is None
        else {
            "rating": survey.rating,
            "comment": survey.comment,
            "phone": survey.phone,
            "answered_at": _iso(survey.answered_at),
        },
        "solution": None
        if solution is None
        else {"problem": solution.problem, "solution": solution.body},
        "suggestions": [
            {"solution_id": s.solution_id, "rank": s.rank, "outcome": s.outcome}
            for s in suggestions
        ],
    }


def _entry(entry: Entry, number: str, bundle: Bundle) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "direction": entry.direction,
        "channel": entry.channel,
        "author_name": entry.author_name,
        "author_address": entry.author_address,
        "subject": entry.subject,
        "body": entry.body,
        "at": _iso(entry.created_at),
        "attachments": [_attachment(a, number, bundle) for a in entry.attachments],
    }


def _attachment(attachment: Attachment, number: str, bundle: Bundle) -> dict[str, Any]:
    safe = Path(attachment.filename).name.replace("/", "_") or "attachment"
    name = bundle.add(f"attachments/{number}/{attachment.id}-{safe}", attachment.data)
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "file": name,
    }


def _inbound(session: Session, message: InboundMessage, bundle: Bundle) -> dict[str, Any]:
    suffix = "eml" if message.channel == "email" else "txt"
    raw = bundle.add(f"originals/{message.id}.{suffix}", message.raw) if message.raw else None
    media = session.scalars(
        select(InboundMedia)
        .where(InboundMedia.inbound_id == message.id)
        .order_by(InboundMedia.position)
    )
    return {
        "id": message.id,
        "channel": message.channel,
        "from": message.envelope_from,
        "received_at": _iso(message.received_at),
        "state": message.state,
        "original": raw,
        "media": [
            {
                "content_type": m.content_type,
                "size": m.size,
                "file": bundle.add(f"media/{message.id}-{m.position}", m.data) if m.data else None,
            }
            for m in media
        ],
    }


def write_zip(path: Path, index: dict[str, Any], bundle: Bundle) -> int:
    """Write the export; returns the number of files besides the index."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.json", json.dumps(index, indent=2, ensure_ascii=False))
        for name, data in bundle.files.items():
            archive.writestr(name, data)
    return len(bundle.files)
