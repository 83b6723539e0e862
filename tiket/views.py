"""Read models: tickets as plain dicts for the CLI's JSON and the pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tiket.model import Entry, Event, Ticket


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def ticket_rows(
    session: Session, *, statuses: Sequence[str] = (), team_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = (
        select(Ticket)
        .options(selectinload(Ticket.category), selectinload(Ticket.team))
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    if statuses:
        query = query.where(Ticket.status.in_(statuses))
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    return [
        {
            "number": t.number,
            "status": t.status,
            "priority": t.priority,
            "category": t.category.slug if t.category else None,
            "team": t.team.name if t.team else None,
            "subject": t.subject,
            "channel": t.channel,
            "created_at": _iso(t.created_at),
        }
        for t in session.scalars(query)
    ]


def ticket_dict(session: Session, ticket: Ticket) -> dict[str, Any]:
    entries = session.scalars(
        select(Entry)
        .where(Entry.ticket_id == ticket.id)
        .options(selectinload(Entry.attachments))
        .order_by(Entry.id)
    )
    events = session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id))
    requester = ticket.requester
    return {
        "number": ticket.number,
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category.slug if ticket.category else None,
        "team": ticket.team.name if ticket.team else None,
        "assignee": ticket.assignee.email if ticket.assignee else None,
        "subject": ticket.subject,
        "channel": ticket.channel,
        "language": ticket.language,
        "created_at": _iso(ticket.created_at),
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "requester": {
            "name": requester.name,
            "email": requester.email,
            "phone": requester.phone,
            "organisation": requester.organisation,
        },
        "entries": [
            {
                "kind": e.kind,
                "channel": e.channel,
                "direction": e.direction,
                "author": e.author_address or e.author_name,
                "author_name": e.author_name,
                "body": e.body,
                "auto_reason": e.auto_reason,
                "message_id": e.message_id,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                    for a in e.attachments
                ],
                "created_at": _iso(e.created_at),
            }
            for e in entries
        ],
        "events": [
            {"kind": ev.kind, "actor": ev.actor, "data": ev.data, "created_at": _iso(ev.created_at)}
            for ev in events
        ],
    }
