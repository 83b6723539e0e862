"""Ticket lifecycle jobs: close resolved tickets after N quiet days, remind on waiting tickets,
and the hooks run once after a resolution (the satisfaction survey will be one)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select

from tiket.desk import Actor, Desk
from tiket.model import Entry, EntryKind, Status, Ticket
from tiket.reports.notices import claim_notice

log = logging.getLogger(__name__)

AUTOCLOSE_NOTE = "Closed automatically: resolved {days} days ago without a reply."
HOOK_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class ResolutionHook:
    """Runs once per resolved ticket, inside the job's transaction, e.g. to send a survey."""

    name: str
    run: Callable[[Desk, Ticket], None]


# The satisfaction survey registers itself here (tiket/gateway/survey_pages.py) with
# `register_resolution_hook`; with no hook registered the job sends nothing after a resolution.
RESOLUTION_HOOKS: dict[str, ResolutionHook] = {}


def register_resolution_hook(hook: ResolutionHook) -> None:
    RESOLUTION_HOOKS[hook.name] = hook


def autoclose(desk: Desk, now: datetime, days: int) -> list[str]:
    """Close tickets resolved more than `days` ago with no message from the requester since."""
    cutoff = now - timedelta(days=days)
    replied = exists().where(
        Entry.ticket_id == Ticket.id,
        Entry.kind == EntryKind.MESSAGE,
        Entry.created_at > Ticket.resolved_at,
    )
    tickets = desk.session.scalars(
        select(Ticket)
        .where(Ticket.status == Status.RESOLVED, Ticket.resolved_at < cutoff, ~replied)
        .order_by(Ticket.id)
    ).all()
    for ticket in tickets:
        desk.close(
            ticket, Actor.system(), by_requester=False, body=AUTOCLOSE_NOTE.format(days=days)
        )
        log.info("action=autoclosed ticket=%s", ticket.number)
    return [t.number for t in tickets]


def remind_waiting(desk: Desk, now: datetime, days: int) -> list[str]:
    """Remind the requester once per silence on tickets waiting for their answer."""
    cutoff = now - timedelta(days=days)
    tickets = desk.session.scalars(
        select(Ticket)
        .where(Ticket.status == Status.PENDING, Ticket.updated_at < cutoff)
        .order_by(Ticket.id)
    ).all()
    reminded = []
    for ticket in tickets:
        if claim_notice(desk.session, ticket.id, f"remind:{ticket.updated_at.isoformat()}"):
            waited = (now - ticket.updated_at).days
            desk.tell_requester(ticket, "waiting_reminder", days=waited)
            desk.event(ticket, "reminded", Actor.system(), waiting_days=waited)
            reminded.append(ticket.number)
    return reminded


def run_resolution_hooks(desk: Desk, now: datetime) -> int:
    """Each registered hook once per ticket resolved in the last 30 days."""
    if not RESOLUTION_HOOKS:
        return 0
    tickets = desk.session.scalars(
        select(Ticket).where(
            and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at >= now - HOOK_WINDOW)
        )
    ).all()
    done = 0
    for ticket in tickets:
        for hook in RESOLUTION_HOOKS.values():
            if claim_notice(desk.session, ticket.id, f"hook:{hook.name}"):
                hook.run(desk, ticket)
                done += 1
    return done
