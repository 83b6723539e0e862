"""Who works a ticket: assign, transfer, share, priority, resolve, merge, watchers, commands."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select, update

from tiket import survey
from tiket.desk import Actor, Desk
from tiket.errors import Conflict, NotFound, TiketError
from tiket.ids import normalise_number
from tiket.learn import solutions
from tiket.model import (
    Entry,
    MessageRef,
    Status,
    Team,
    Technician,
    Ticket,
    TicketShare,
    Watcher,
    utcnow,
)
from tiket.rules.context import Command
from tiket.rules.ruleset import PRIORITIES


def find_technician(desk: Desk, who: str) -> Technician:
    """A technician by address, or by a name that only one technician has."""
    found = desk.technician(who) if "@" in who else None
    if found is not None:
        return found
    matches = list(
        desk.session.scalars(select(Technician).where(func.lower(Technician.name) == who.lower()))
    )
    if not matches:
        raise NotFound(f"no technician {who!r}; `tiket technicians list` shows them")
    if len(matches) > 1:
        raise Conflict(f"several technicians are called {who!r}: use the address")
    return matches[0]


def assign(desk: Desk, ticket: Ticket, technician: Technician | None, actor: Actor) -> None:
    old = ticket.assignee.email if ticket.assignee else None
    ticket.assignee = technician
    desk.event(ticket, "assigned", actor, old=old, new=technician.email if technician else None)
    if technician is not None and technician.email != actor.address:
        desk.tell_person(
            ticket,
            "team_update",
            technician.email,
            audience=f"p{technician.id}",
            what=_say(ticket, "Ditugaskan kepada Anda", "Assigned to you"),
            author=actor.name or actor.address,
            body="",
        )


def transfer(desk: Desk, ticket: Ticket, team: Team, actor: Actor) -> None:
    if ticket.team_id == team.id:
        raise Conflict(f"{ticket.number} is already with {team.name}")
    old = ticket.team.name if ticket.team else None
    ticket.team = team
    ticket.assignee = None
    # The new owner no longer needs a share.
    desk.session.execute(
        delete(TicketShare).where(
            TicketShare.ticket_id == ticket.id, TicketShare.team_id == team.id
        )
    )
    desk.event(ticket, "transferred", actor, old=old, new=team.name)
    desk.tell_team(
        ticket,
        _say(ticket, f"Dialihkan dari {old}", f"Forwarded from {old}"),
        actor,
        _history(desk, ticket),
        team=team,
    )


def share(desk: Desk, ticket: Ticket, team: Team, actor: Actor) -> None:
    if ticket.team_id == team.id:
        raise Conflict(f"{ticket.number} belongs to {team.name} already")
    if desk.session.get(TicketShare, (ticket.id, team.id)) is not None:
        raise Conflict(f"{ticket.number} is already shared with {team.name}")
    desk.session.add(TicketShare(ticket_id=ticket.id, team_id=team.id, created_at=utcnow()))
    desk.event(ticket, "shared", actor, team=team.name)
    owner = ticket.team.name if ticket.team else "-"
    desk.tell_team(
        ticket,
        _say(ticket, f"Dibagikan oleh {owner}", f"Shared by {owner}"),
        actor,
        _history(desk, ticket),
        team=team,
    )


def unshare(desk: Desk, ticket: Ticket, team: Team, actor: Actor) -> None:
    gone = desk.session.execute(
        delete(TicketShare).where(
            TicketShare.ticket_id == ticket.id, TicketShare.team_id == team.id
        )
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"{ticket.number} is not shared with {team.name}")
    desk.event(ticket, "unshared", actor, team=team.name)


def shared_teams(desk: Desk, ticket: Ticket) -> list[str]:
    return list(
        desk.session.scalars(
            select(Team.name)
            .join(TicketShare, TicketShare.team_id == Team.id)
            .where(TicketShare.ticket_id == ticket.id)
            .order_by(Team.name)
        )
    )


def set_priority(desk: Desk, ticket: Ticket, level: str, actor: Actor) -> None:
    level = level.strip().lower()
    if level not in PRIORITIES:
        raise TiketError(f"priority must be one of {', '.join(PRIORITIES)}, not {level!r}")
    if ticket.priority == level:
        return
    desk.event(ticket, "priority", actor, old=ticket.priority, new=level)
    ticket.priority = level


def resolve(desk: Desk, ticket: Ticket, actor: Actor) -> None:
    """Solved, waiting for the requester to confirm (or to be closed by the lifecycle job)."""
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(f"{ticket.number} is already {ticket.status}")
    ticket.resolved_at = utcnow()
    desk.event(ticket, "status", actor, old=ticket.status, new=str(Status.RESOLVED))
    ticket.status = Status.RESOLVED
    solutions.remember(desk.session, ticket)
    desk.tell_requester(ticket, "resolved")
    survey.invite(desk, ticket)


def mark_solution(desk: Desk, ticket: Ticket, text: str, actor: Actor) -> None:
    """The text that solved the ticket, for the knowledge base (`#solution …`)."""
    solution = solutions.mark(desk.session, ticket, text, actor.address or actor.name)
    desk.event(ticket, "solution", actor, solution=solution.id)


def merge(desk: Desk, source: Ticket, target: Ticket, actor: Actor) -> None:
    """Fold `source` into `target`: its history, threads and watchers move; it closes."""
    if source.id == target.id:
        raise Conflict("a ticket cannot be merged into itself")
    if target.merged_into_id is not None:
        raise Conflict(f"{target.number} was itself merged; merge into its target")
    session = desk.session
    session.execute(update(Entry).where(Entry.ticket_id == source.id).values(ticket_id=target.id))
    desk.forget_threads()
    session.execute(
        update(MessageRef).where(MessageRef.ticket_id == source.id).values(ticket_id=target.id)
    )
    for address in session.scalars(select(Watcher.address).where(Watcher.ticket_id == source.id)):
        add_watchers(desk, target, [address], actor, quiet=True)
    if source.requester_id != target.requester_id and source.requester.email:
        add_watchers(desk, target, [source.requester.email], actor, quiet=True)
    session.expire(source, ["entries"])
    source.merged_into = target
    now = utcnow()
    source.closed_at = now
    source.resolved_at = source.resolved_at or now
    desk.event(source, "merged", actor, into=target.number)
    desk.event(target, "merged_in", actor, source=source.number)
    source.status = Status.CLOSED
    desk.tell_requester(source, "merged", target_number=target.number)


def add_watchers(
    desk: Desk, ticket: Ticket, addresses: Iterable[str], actor: Actor, *, quiet: bool = False
) -> list[str]:
    """Add addresses that are not already on the ticket; never ours, its requester or a team's."""
    addresses = list(addresses)
    if not addresses:
        return []  # most mail has no Cc: no need to ask who may not watch
    excluded = _not_watchers(desk, ticket)
    ours = set(desk.settings.mail_domains)
    current = set(
        desk.session.scalars(select(Watcher.address).where(Watcher.ticket_id == ticket.id))
    )
    added = []
    for raw in addresses:
        address = raw.strip().lower()
        if (
            "@" not in address
            or address in excluded
            or address in current
            or address.rpartition("@")[2] in ours
        ):
            continue
        desk.session.add(Watcher(ticket_id=ticket.id, address=address, created_at=utcnow()))
        current.add(address)
        added.append(address)
    if added and not quiet:
        desk.event(ticket, "watchers_added", actor, addresses=added)
    return added


def _not_watchers(desk: Desk, ticket: Ticket) -> set[str]:
    settings = desk.settings
    excluded = {settings.mail.address.lower(), settings.from_address.lower()}
    excluded |= {m.lower() for m in desk.session.scalars(select(Team.mailbox))}
    excluded |= set(desk.session.scalars(select(Technician.email)))
    if ticket.requester.email:
        excluded.add(ticket.requester.email)
    return excluded


# -- commands by mail -------------------------------------------------------------------------

MAIL_COMMANDS = (
    "assign",
    "forward",
    "share",
    "priority",
    "merge",
    "solution",
    "resolve",
    "reopen",
    "close",
)


def run_mail_commands(
    desk: Desk, ticket: Ticket, commands: Sequence[Command], actor: Actor
) -> tuple[list[str], list[str]]:
    """Run the authenticated technician's commands in order: (done, failed with reasons)."""
    done: list[str] = []
    failed: list[str] = []
    for command in commands:
        if command.name not in MAIL_COMMANDS:
            continue
        try:
            _run(desk, ticket, command, actor)
            done.append(f"#{command.name}" + (f" {command.argument}" if command.argument else ""))
        except TiketError as exc:
            failed.append(f"#{command.name} {command.argument}".strip() + f": {exc}")
            desk.event(ticket, "command_failed", actor, command=command.name, reason=str(exc))
    return done, failed


def _run(desk: Desk, ticket: Ticket, command: Command, actor: Actor) -> None:
    name, argument = command.name, command.argument.strip()
    if name in ("assign", "forward", "share", "priority", "merge") and not argument:
        raise TiketError(f"#{name} needs an argument")
    if name == "assign":
        assign(desk, ticket, find_technician(desk, argument), actor)
    elif name == "forward":
        transfer(desk, ticket, desk.team(argument), actor)
    elif name == "share":
        share(desk, ticket, desk.team(argument), actor)
    elif name == "priority":
        set_priority(desk, ticket, argument, actor)
    elif name == "merge":
        number = normalise_number(argument)
        if number is None:
            raise TiketError(f"{argument!r} is not a ticket number")
        merge(desk, ticket, desk.ticket(number), actor)
    elif name == "solution":
        mark_solution(desk, ticket, argument, actor)
    elif name == "resolve":
        resolve(desk, ticket, actor)
    elif name == "reopen":
        desk.reopen(ticket, actor)
    elif name == "close":
        desk.close(ticket, actor, by_requester=False)


def _say(ticket: Ticket, indonesian: str, english: str) -> str:
    return indonesian if ticket.language == "id" else english


def _history(desk: Desk, ticket: Ticket) -> str:
    """The public history in short, for a team that joins a ticket late."""
    entries = desk.session.scalars(
        select(Entry).where(Entry.ticket_id == ticket.id).order_by(Entry.id)
    ).all()
    parts = [
        f"[{e.created_at:%Y-%m-%d %H:%M}] {e.author_name or e.author_address} ({e.kind}):\n{e.body}"
        for e in entries[-10:]
    ]
    return "\n\n".join(parts)
