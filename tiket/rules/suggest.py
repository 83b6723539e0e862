"""Suggest stage: solved tickets like a new one, whose solutions may answer it at once."""

from __future__ import annotations

from tiket.rules.context import Context, Lookup


def suggest(ctx: Context, lookup: Lookup) -> Context:
    if ctx.ticket is not None or ctx.is_technician or ctx.auto_reason or ctx.spam:
        return ctx
    config = lookup.learn_settings()
    if not config.enabled or config.suggestions < 1:
        return ctx
    found = lookup.similar_solved(
        f"{ctx.message.subject}\n{ctx.message.visible}", 3 * config.suggestions
    )
    if not found:
        return ctx.decide("suggest", "none", "no similar solved ticket")
    best = ", ".join(f"{s.number} {s.score:.2f}" for s in found[: config.suggestions])
    kept = tuple(s for s in found if s.score >= config.suggest_threshold)[: config.suggestions]
    if not kept:
        return ctx.decide("suggest", "low", f"{best}: below {config.suggest_threshold:.2f}")
    return ctx.decide(
        "suggest",
        "hit",
        ", ".join(f"{s.number} {s.score:.2f}" for s in kept),
        suggestions=kept,
    )
