"""Rule sets: rows become rules, validated when saved and evaluated in order with a trace.

Rules are evaluated in `position` order; every enabled rule that holds is a hit with a score
(keyword hits, a subject hit counting three). For a single-valued action (category, team,
priority, answer, spam) the hit with the highest score wins, the earlier rule on a tie; list
actions (watchers, shares) add up. A hit with `stop` ends the evaluation: rules after it are
not looked at, so an admin's rule placed first with `stop` always decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tiket.rules.matching import Facts, InvalidRule, evaluate, keywords_in, validate

PRIORITIES = ("low", "normal", "high", "urgent")
SINGLE = ("category", "team", "priority", "answer", "spam")
LISTS = ("watchers", "shares")
ACTIONS = SINGLE + LISTS
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEMPLATE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class RuleSpec:
    """A rule as data: what is stored, exported and imported."""

    name: str
    match: Mapping[str, Any]
    actions: Mapping[str, Any]
    position: int = 0
    enabled: bool = True
    stop: bool = False


@dataclass(frozen=True)
class Known:
    """What actions may name: existing categories and teams."""

    categories: frozenset[str]
    teams: frozenset[str]


def validate_rule(spec: RuleSpec, known: Known) -> None:
    if not spec.name or len(spec.name) > 200 or spec.name != spec.name.strip():
        raise InvalidRule(f"rule name {spec.name!r}: 1 to 200 characters, no outer spaces")
    where = f"rule {spec.name!r}"
    validate(spec.match, f"{where}: match")
    validate_actions(spec.actions, known, where)


def validate_actions(actions: Mapping[str, Any], known: Known, where: str) -> None:
    if not isinstance(actions, Mapping) or not actions:
        raise InvalidRule(f"{where}: actions must be a non-empty table")
    for key, value in actions.items():
        if key not in ACTIONS:
            raise InvalidRule(f"{where}: unknown action {key!r} (one of {', '.join(ACTIONS)})")
        if key == "category" and value not in known.categories:
            raise InvalidRule(f"{where}: no category {value!r}")
        if key == "team" and value not in known.teams:
            raise InvalidRule(f"{where}: no team {value!r}")
        if key == "priority" and value not in PRIORITIES:
            raise InvalidRule(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
        if key == "spam" and value is not True:
            raise InvalidRule(f"{where}: spam takes true")
        if key == "answer" and not (isinstance(value, str) and _TEMPLATE.match(value)):
            raise InvalidRule(f"{where}: answer names a template: lowercase letters, digits, - _")
        if key == "watchers" and not (
            isinstance(value, list) and all(isinstance(a, str) and _ADDRESS.match(a) for a in value)
        ):
            raise InvalidRule(f"{where}: watchers must be a list of email addresses")
        if key == "shares" and not (
            isinstance(value, list) and all(t in known.teams for t in value)
        ):
            raise InvalidRule(f"{where}: shares must be a list of existing team names")


@dataclass(frozen=True)
class RuleResult:
    name: str
    hit: bool
    score: int
    detail: str


@dataclass(frozen=True)
class Outcome:
    """What the rules decided, and the trace of every rule looked at."""

    values: Mapping[str, Any] = field(default_factory=dict)
    watchers: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()
    results: tuple[RuleResult, ...] = ()
    decided_by: Mapping[str, str] = field(default_factory=dict)


def evaluate_rules(rules: Iterable[RuleSpec], facts: Facts) -> Outcome:
    best: dict[str, tuple[int, str, Any]] = {}
    watchers: list[str] = []
    shares: list[str] = []
    results: list[RuleResult] = []
    for rule in sorted(rules, key=lambda r: r.position):
        if not rule.enabled:
            continue
        score = evaluate(rule.match, facts)
        if not score:
            results.append(RuleResult(rule.name, False, 0, "no match"))
            continue
        results.append(RuleResult(rule.name, True, score, _describe(rule, facts)))
        for key, value in rule.actions.items():
            if key in LISTS:
                target = watchers if key == "watchers" else shares
                target.extend(v for v in value if v not in target)
            elif key not in best or score > best[key][0]:
                best[key] = (score, rule.name, value)
        if rule.stop:
            break
    return Outcome(
        values={key: value for key, (_, _, value) in best.items()},
        watchers=tuple(watchers),
        shares=tuple(shares),
        results=tuple(results),
        decided_by={key: name for key, (_, name, _) in best.items()},
    )


def _describe(rule: RuleSpec, facts: Facts) -> str:
    from tiket.rules.matching import keyword_pattern

    words = [
        k
        for k in keywords_in(rule.match)
        if keyword_pattern(k).search(facts.subject) or keyword_pattern(k).search(facts.body)
    ]
    actions = ", ".join(f"{k}={v}" for k, v in rule.actions.items())
    found = f" on {', '.join(words[:8])}" if words else ""
    return f"{actions}{found}{' (stop)' if rule.stop else ''}"


def category_rule(slug: str, keywords: Sequence[str], position: int) -> RuleSpec:
    """The seeded keyword rule of one category."""
    return RuleSpec(
        name=f"category {slug}",
        match={"field": "text", "keywords": list(keywords)},
        actions={"category": slug},
        position=position,
    )
