"""The stages every inbound message passes, in order. Nothing else lives here."""

from __future__ import annotations

from collections.abc import Callable

from tiket.rules.author import author
from tiket.rules.classify import classify
from tiket.rules.commands import commands
from tiket.rules.context import Context, Lookup, Message
from tiket.rules.guard import guard
from tiket.rules.learned import learned
from tiket.rules.route import route
from tiket.rules.suggest import suggest
from tiket.rules.text_keywords import text_keywords
from tiket.rules.thread import thread
from tiket.rules.thread_phone import thread_phone

Stage = Callable[[Context, Lookup], Context]

STAGES: tuple[Stage, ...] = (
    guard,
    thread,
    thread_phone,
    text_keywords,
    author,
    commands,
    classify,
    learned,
    route,
    suggest,
)


def run(message: Message, lookup: Lookup) -> Context:
    ctx = Context(message=message)
    for stage in STAGES:
        ctx = stage(ctx, lookup)
    return ctx
