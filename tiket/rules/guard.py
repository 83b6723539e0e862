"""Guard stage: mark what must never be answered (auto-replies, bounces, lists, our own mail)."""

from __future__ import annotations

from tiket.rules.context import Context, Lookup
from tiket.rules.detect import auto_reply_reason, bounce


def guard(ctx: Context, lookup: Lookup) -> Context:
    message = ctx.message
    own = lookup.own_addresses()
    if message.sender and message.sender in own:
        return ctx.decide(
            "guard",
            "loop",
            f"sent by our own address {message.sender}",
            auto_reason="from ourselves",
        )
    if message.parsed is None:
        return ctx.decide("guard", "pass", f"{message.channel} message")
    for value in message.parsed.headers.get("x-loop", ()):
        if any(address in value.lower() for address in own):
            return ctx.decide("guard", "loop", "X-Loop names us", auto_reason="x-loop")
    found = bounce(message.parsed)
    if found is not None:
        kind = "hard" if found.hard else "soft"
        return ctx.decide(
            "guard",
            "bounce",
            f"{kind} bounce for {', '.join(found.recipients)}",
            auto_reason=f"{kind} bounce",
            bounce=found,
        )
    reason = auto_reply_reason(message.parsed)
    if reason is not None:
        return ctx.decide("guard", "automatic", reason, auto_reason=reason)
    return ctx.decide("guard", "pass", "written by a person")
