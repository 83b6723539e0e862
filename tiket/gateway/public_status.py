"""`/status`: anyone with a ticket number follows its handling — public history only, masked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tiket.desk import STATUS_LABELS
from tiket.gateway.masking import first_name, mask_text
from tiket.gateway.ratelimit import RateLimiter
from tiket.gateway.webpage import Page, client_key, page, render
from tiket.ids import normalise_number
from tiket.model import Direction, Entry, EntryKind, Status, Ticket
from tiket.model.db import Database
from tiket.privacy import audit

if TYPE_CHECKING:
    from tiket.gateway.http import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublicEntry:
    who: str
    from_helpdesk: bool
    at: str
    body: str
    files: int


@dataclass(frozen=True)
class PublicTicket:
    number: str
    subject: str
    status: str
    status_key: str
    category: str
    team: str
    opened: str
    updated: str
    resolved: str
    closed: str
    history: tuple[PublicEntry, ...]


def routes(services: Services) -> list[BaseRoute]:
    if not services.settings.web.enabled:
        return []
    limiter = RateLimiter(services.settings.web.status_lookups_per_minute)
    return [
        Route("/status", partial(lookup_form, services, limiter), methods=["GET"]),
        Route("/status/{number}", partial(status_page, services, limiter), methods=["GET"]),
    ]


async def lookup_form(services: Services, limiter: RateLimiter, request: Request) -> Response:
    view = page(request, services)
    typed = request.query_params.get("number")
    if typed is None:
        return render(view, "status_form.html")
    # The form submits by GET: send it to the page of the number, or the same neutral page.
    number = normalise_number(typed[:64])
    if number is None:
        return await status_page(services, limiter, request, number="")
    lang = request.query_params.get("lang", "")
    suffix = f"?lang={lang}" if lang in ("id", "en") else ""
    return RedirectResponse(f"/status/{number}{suffix}", status_code=303)


async def status_page(
    services: Services, limiter: RateLimiter, request: Request, number: str | None = None
) -> Response:
    view = page(request, services)
    wait = limiter.take(client_key(request))
    if wait is not None:
        log.info("action=rate_limited path=/status client=%s", client_key(request))
        return limited(view, wait)
    typed = request.path_params.get("number", "") if number is None else number
    canonical = normalise_number(typed[:64]) if typed else None
    ticket = None
    if canonical is not None:
        ticket = await run_in_threadpool(
            public_ticket, services.db, canonical, view.lang, services.settings.calendar.timezone
        )
    if ticket is None:
        # Unknown and malformed look the same: nothing tells a guesser which numbers exist.
        return render(view, "not_found.html", status=404)
    return render(view, "status.html", ticket=ticket)


def limited(view: Page, wait: int) -> Response:
    return render(
        view, "limited.html", status=429, headers={"Retry-After": str(wait)}, seconds=wait
    )


def public_ticket(db: Database, number: str, lang: str, timezone: str) -> PublicTicket | None:
    """The ticket as the public may see it, or None when there is no such number."""
    zone = _zone(timezone)
    with db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            return None
        entries = session.scalars(
            select(Entry)
            .where(Entry.ticket_id == ticket.id, Entry.auto_reason.is_(None))
            .where(
                ((Entry.kind == EntryKind.MESSAGE) & (Entry.direction == Direction.IN))
                | ((Entry.kind == EntryKind.REPLY) & (Entry.direction == Direction.OUT))
            )
            .order_by(Entry.created_at, Entry.id)
        ).all()
        labels = STATUS_LABELS.get(lang, STATUS_LABELS["en"])
        # First names and the masked text people wrote are still theirs: the showing is
        # audited, naming the page and never the anonymous visitor.
        audit.record(session, audit.PUBLIC, "status page", ticket)
        return PublicTicket(
            number=ticket.number,
            subject=mask_text(ticket.subject),
            status=labels.get(Status(ticket.status), ticket.status),
            status_key=ticket.status,
            category=ticket.category.name(lang) if ticket.category else "-",
            team=(ticket.team.title or ticket.team.name) if ticket.team else "-",
            opened=_when(ticket.created_at, zone),
            updated=_when(ticket.updated_at, zone),
            resolved=_when(ticket.resolved_at, zone),
            closed=_when(ticket.closed_at, zone),
            history=tuple(_public(entry, zone) for entry in entries),
        )


def _public(entry: Entry, zone: ZoneInfo) -> PublicEntry:
    helpdesk = entry.kind == EntryKind.REPLY
    return PublicEntry(
        who=first_name(entry.author_name),
        from_helpdesk=helpdesk,
        at=_when(entry.created_at, zone),
        body=mask_text(entry.body),
        files=len(entry.attachments),
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Makassar")


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%d-%m-%Y %H:%M %Z")
