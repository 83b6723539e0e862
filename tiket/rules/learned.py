"""Learned-category stage: when no keyword rule set a category, the trained classifier may."""

from __future__ import annotations

from tiket.model.seed import FALLBACK_CATEGORY
from tiket.rules.context import Context, Lookup


def learned(ctx: Context, lookup: Lookup) -> Context:
    if ctx.ticket is not None or not _rules_missed(ctx) or not lookup.learn_settings().enabled:
        return ctx
    guess = lookup.predict_category(f"{ctx.message.subject}\n{ctx.message.visible}")
    if guess is None:
        return ctx.decide("learned", "none", "no trained classifier")
    category, confidence = guess
    threshold = lookup.learn_settings().classify_threshold
    if category == FALLBACK_CATEGORY or confidence < threshold:
        return ctx.decide(
            "learned",
            "low",
            f"{category} at {confidence:.2f} < {threshold:.2f}: stays {FALLBACK_CATEGORY}",
        )
    return ctx.decide(
        "learned",
        "hit",
        f"{category} at {confidence:.2f} >= {threshold:.2f}",
        category=category,
        extra={**ctx.extra, "learned_confidence": round(confidence, 4)},
    )


def _rules_missed(ctx: Context) -> bool:
    verdicts = [d for d in ctx.trace if d.stage == "classify" and d.outcome in ("hit", "miss")]
    return bool(verdicts) and verdicts[-1].outcome == "miss"
