"""`tiket rules test`: run the deciding stages on a message without changing anything."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.inbound.parse import ParsedMessage
from tiket.inbound.quotes import split_reply
from tiket.rules.classify import classify
from tiket.rules.context import Context, Message
from tiket.rules.guard import guard
from tiket.rules.route import route

STAGES = (guard, classify, route)


def dry_run(
    session: Session,
    settings: Settings,
    secret: bytes,
    *,
    parsed: ParsedMessage | None,
    text: str = "",
    subject: str = "",
    sender: str = "",
) -> dict[str, Any]:
    from tiket.lookup import DbLookup

    if parsed is not None:
        reply = split_reply(parsed.text)
        message = Message(
            inbound_id=0,
            channel="email",
            sender=(parsed.from_.email if parsed.from_ else sender).lower(),
            sender_name=parsed.from_.name if parsed.from_ else "",
            recipients=tuple(a.email for a in (*parsed.to, *parsed.cc) if a.email),
            subject=parsed.subject,
            text=parsed.text,
            visible=reply.visible,
            quoted=reply.quoted,
            parsed=parsed,
        )
    else:
        message = Message(
            inbound_id=0,
            channel="email",
            sender=sender.lower(),
            sender_name="",
            recipients=(),
            subject=subject,
            text=text,
            visible=text,
            quoted="",
        )
    lookup = DbLookup(session, settings, secret)
    ctx = Context(message=message)
    for stage in STAGES:
        ctx = stage(ctx, lookup)
    return {
        "category": ctx.category,
        "team": ctx.team,
        "priority": ctx.priority,
        "watchers": list(ctx.watchers),
        "shares": list(ctx.shares),
        "spam": ctx.spam,
        "answer": ctx.answer,
        "automatic": ctx.auto_reason,
        "trace": [d.as_dict() for d in ctx.trace],
    }
