"""The stages every inbound message passes, in order. Nothing else lives here."""

from __future__ import annotations

from collections.abc import Callable

from tiket.rules.author import author
from tiket.rules.classify import classify
from tiket.rules.commands import commands
from tiket.rules.context import Context, Lookup, Message
from tiket.rules.guard import guard
from tiket.rules.route import route
from tiket.rules.thread import thread

Stage = Callable[[Context, Lookup], Context]

STAGES: tuple[Stage, ...] = (
    guard,
    thread,
    author,
    commands,
    classify,
    route,
)


def run(message: Message, lookup: Lookup) -> Context:
    ctx = Context(message=message)
    for stage in STAGES:
        ctx = stage(ctx, lookup)
    return ctx
