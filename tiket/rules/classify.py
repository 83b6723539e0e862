"""Classify stage: the category from keywords in the subject and text ('others' when none hit)."""

from __future__ import annotations

import re
from functools import lru_cache

from tiket.model.seed import FALLBACK_CATEGORY
from tiket.rules.context import Context, Lookup

SUBJECT_WEIGHT = 3


@lru_cache(maxsize=1024)
def _pattern(keyword: str) -> re.Pattern[str]:
    words = [re.escape(part) for part in keyword.lower().split()]
    return re.compile(r"(?<![\w.-])" + r"\s+".join(words) + r"(?![\w-])")


def score(keywords: tuple[str, ...], subject: str, text: str) -> tuple[int, list[str]]:
    total = 0
    hits = []
    for keyword in keywords:
        pattern = _pattern(keyword)
        found = SUBJECT_WEIGHT * len(pattern.findall(subject)) + len(pattern.findall(text))
        if found:
            total += found
            hits.append(keyword)
    return total, hits


def classify(ctx: Context, lookup: Lookup) -> Context:
    if ctx.ticket is not None:
        return ctx.decide("classify", "skip", f"follows up {ctx.ticket.number}")
    subject = ctx.message.subject.lower()
    text = ctx.message.visible.lower()
    best: tuple[int, str, list[str]] | None = None
    for slug, keywords in lookup.category_keywords():
        total, hits = score(keywords, subject, text)
        if total and (best is None or total > best[0]):
            best = (total, slug, hits)
    if best is None:
        return ctx.decide("classify", "miss", "no keyword matched", category=FALLBACK_CATEGORY)
    total, slug, hits = best
    return ctx.decide(
        "classify", "hit", f"{slug} (score {total}: {', '.join(hits)})", category=slug
    )
