"""The ticket verbs at the CLI: `tiket tickets assign|transfer|share|…|priority NUMBER …`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from tiket import clikit, teamwork
from tiket.desk import Actor, Desk
from tiket.errors import TiketError
from tiket.model import Ticket

# -- ticket verbs -----------------------------------------------------------------------------


def _act(number: str, verb: Callable[[Desk, Ticket, Actor], str]) -> None:
    """Run a verb on ticket NUMBER in one transaction and say what happened."""
    with clikit.desk() as desk:
        said = verb(desk, desk.ticket(number), clikit.operator())
    click.echo(said)


@click.command("assign")
@click.argument("number")
@click.argument("technician")
def tickets_assign(number: str, technician: str) -> None:
    """Assign ticket NUMBER to a technician (address or unique name); '-' unassigns."""

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        person = None if technician == "-" else teamwork.find_technician(desk, technician)
        teamwork.assign(desk, ticket, person, actor)
        return f"{ticket.number} assigned to {person.email if person else 'nobody'}"

    _act(number, verb)


@click.command("transfer")
@click.argument("number")
@click.argument("team")
def tickets_transfer(number: str, team: str) -> None:
    """Hand ticket NUMBER to another team (which is notified)."""

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        teamwork.transfer(desk, ticket, desk.team(team), actor)
        return f"{ticket.number} now with {team}"

    _act(number, verb)


@click.command("share")
@click.argument("number")
@click.argument("team")
def tickets_share(number: str, team: str) -> None:
    """Share ticket NUMBER with a team: it may answer and act; the owner stays."""

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        teamwork.share(desk, ticket, desk.team(team), actor)
        return f"{ticket.number} shared with {team}"

    _act(number, verb)


@click.command("unshare")
@click.argument("number")
@click.argument("team")
def tickets_unshare(number: str, team: str) -> None:
    """Stop sharing ticket NUMBER with a team."""

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        teamwork.unshare(desk, ticket, desk.team(team), actor)
        return f"{ticket.number} no longer shared with {team}"

    _act(number, verb)


def _text_argument(text: str | None) -> str:
    body = sys.stdin.read() if text in (None, "-") else text
    if not body or not body.strip():
        raise TiketError("the text is empty")
    return body.strip()


def _simple(name: str, doc: str, action: Callable[[Desk, Ticket, Actor], None], said: str) -> Any:
    @click.command(name, help=doc)
    @click.argument("number")
    def command(number: str) -> None:
        def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
            action(desk, ticket, actor)
            return f"{ticket.number} {said}"

        _act(number, verb)

    return command


@click.command("note")
@click.argument("number")
@click.argument("text", required=False)
def tickets_note(number: str, text: str | None) -> None:
    """Add an internal note (TEXT, or standard input)."""
    body = _text_argument(text)

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        desk.note(ticket, actor, body, channel="cli")
        return f"note added to {ticket.number}"

    _act(number, verb)


@click.command("reply")
@click.argument("number")
@click.argument("text", required=False)
def tickets_reply(number: str, text: str | None) -> None:
    """Answer the requester through their channel (TEXT, or standard input)."""
    body = _text_argument(text)

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        desk.reply(ticket, actor, body, channel="cli")
        return f"reply sent on {ticket.number}"

    _act(number, verb)


def _close(desk: Desk, ticket: Ticket, actor: Actor) -> None:
    desk.close(ticket, actor, by_requester=False)


def _resolve(desk: Desk, ticket: Ticket, actor: Actor) -> None:
    teamwork.resolve(desk, ticket, actor)


tickets_close = _simple("close", "Close ticket NUMBER (the requester is told).", _close, "closed")
tickets_resolve = _simple(
    "resolve",
    "Mark ticket NUMBER resolved (the requester may confirm or reopen).",
    _resolve,
    "resolved",
)
tickets_reopen = _simple(
    "reopen", "Reopen a resolved or closed ticket.", lambda d, t, a: d.reopen(t, a), "reopened"
)


@click.command("merge")
@click.argument("number")
@click.argument("into")
def tickets_merge(number: str, into: str) -> None:
    """Merge ticket NUMBER into ticket INTO (history and threads move; NUMBER closes)."""

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        teamwork.merge(desk, ticket, desk.ticket(into), actor)
        return f"{ticket.number} merged into {into.upper()}"

    _act(number, verb)


@click.command("priority")
@click.argument("number")
@click.argument("level")
def tickets_priority(number: str, level: str) -> None:
    """Set the priority: low, normal, high or urgent."""

    def verb(desk: Desk, ticket: Ticket, actor: Actor) -> str:
        teamwork.set_priority(desk, ticket, level, actor)
        return f"{ticket.number} priority {ticket.priority}"

    _act(number, verb)


TICKET_VERBS = (
    tickets_assign,
    tickets_transfer,
    tickets_share,
    tickets_unshare,
    tickets_note,
    tickets_reply,
    tickets_close,
    tickets_resolve,
    tickets_reopen,
    tickets_merge,
    tickets_priority,
)
