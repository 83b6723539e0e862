"""Classify stage: the rule book decides category, team, priority, watchers, shares, answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tiket.model.seed import FALLBACK_CATEGORY
from tiket.rules.context import Context, Lookup
from tiket.rules.matching import Facts
from tiket.rules.ruleset import evaluate_rules

# Keyword rules cost time in proportion to the text they scan (about 3 s of CPU per megabyte
# with the seeded categories), so a 5 MB log pasted into a mail stalled the queue for seconds.
# What a mail is about is said near its top: 32 KB is many screens of prose, far more than any
# mail a person writes, and the rules never see the rest of a pasted log or dump.
RULE_TEXT_LIMIT = 32 * 1024


def facts_of(ctx: Context) -> Facts:
    message = ctx.message
    return Facts(
        subject=rule_text(message.subject).lower(),
        body=rule_text(message.visible).lower(),
        sender=message.sender.lower(),
        recipients=tuple(r.lower() for r in message.recipients),
        channel=message.channel,
        category="",
    )


def rule_text(text: str, limit: int = RULE_TEXT_LIMIT) -> str:
    """The first `limit` characters of the text, without a word cut in two at the end."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if not text[limit].isspace():
        head = head[: max(head.rfind(space) for space in " \t\r\n") + 1]
    return head


def classify(ctx: Context, lookup: Lookup) -> Context:
    if ctx.ticket is not None:
        return ctx.decide("classify", "skip", f"follows up {ctx.ticket.number}")
    outcome = evaluate_rules(lookup.rules(), facts_of(ctx))
    for result in outcome.results:
        ctx = ctx.decide(
            "rule",
            "hit" if result.hit else "miss",
            f"{result.name}: {result.detail}" + (f" (score {result.score})" if result.hit else ""),
        )
    values = outcome.values
    category = values.get("category")
    if category is None:
        ctx = ctx.decide("classify", "miss", "no rule set a category", category=FALLBACK_CATEGORY)
    else:
        ctx = ctx.decide(
            "classify",
            "hit",
            f"{category} by rule {outcome.decided_by['category']!r}",
            category=str(category),
        )
    return ctx.decide(
        "classify",
        "actions",
        _summary(values, outcome.watchers, outcome.shares),
        team=values.get("team"),
        priority=str(values.get("priority", ctx.priority)),
        watchers=outcome.watchers,
        shares=outcome.shares,
        spam=bool(values.get("spam", False)),
        answer=values.get("answer"),
    )


def _summary(values: Mapping[str, Any], watchers: tuple[str, ...], shares: tuple[str, ...]) -> str:
    parts = [f"{k}={v}" for k, v in values.items() if k != "category"]
    parts += [f"watcher {w}" for w in watchers] + [f"share {s}" for s in shares]
    return ", ".join(parts) or "no other actions"
