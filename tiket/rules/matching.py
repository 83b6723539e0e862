"""Rule conditions: validated when saved, evaluated against a message's facts with a score.

A condition is a small JSON tree:

    {"all": [cond, ...]}   every one holds (score: the sum)
    {"any": [cond, ...]}   at least one holds (score: the sum of those that hold)
    {"not": cond}          the condition does not hold (score 1)
    {"field": F, "keywords": [...]}   whole-word keywords or phrases, case-insensitive;
                                      score: hits, a hit in the subject counting three
    {"field": F, "regex": "..."}      a Python regular expression, case-insensitive
    {"field": F, "equals": "..."}     the whole value, case-insensitive

F is one of FIELDS. "text" is subject and body together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tiket.errors import TiketError

FIELDS = ("subject", "body", "text", "sender", "sender_domain", "recipient", "channel", "category")
SUBJECT_WEIGHT = 3
MAX_PATTERN = 500


class InvalidRule(TiketError):
    """The rule is not valid."""


@dataclass(frozen=True)
class Facts:
    """What a condition may look at, lowercased."""

    subject: str = ""
    body: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    channel: str = ""
    category: str = ""

    def values(self, field: str) -> list[str]:
        if field == "text":
            return [self.subject, self.body]
        if field == "sender_domain":
            return [self.sender.rpartition("@")[2]]
        if field == "recipient":
            return list(self.recipients)
        return [getattr(self, field)]


def validate(condition: Any, where: str = "match") -> None:
    """Raise InvalidRule with the place and the reason when the condition cannot work."""
    if not isinstance(condition, Mapping) or not condition:
        raise InvalidRule(f"{where}: a condition must be a table, got {condition!r}")
    keys = set(condition)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                raise InvalidRule(f"{where}: '{combinator}' stands alone in its table")
            items = condition[combinator]
            if not isinstance(items, list) or not items:
                raise InvalidRule(f"{where}.{combinator}: must be a non-empty list of conditions")
            for index, item in enumerate(items):
                validate(item, f"{where}.{combinator}[{index}]")
            return
    if "not" in keys:
        if keys != {"not"}:
            raise InvalidRule(f"{where}: 'not' stands alone in its table")
        validate(condition["not"], f"{where}.not")
        return
    field = condition.get("field")
    if field not in FIELDS:
        raise InvalidRule(f"{where}.field: must be one of {', '.join(FIELDS)}, got {field!r}")
    tests = keys & {"keywords", "regex", "equals"}
    if len(tests) != 1 or keys - {"field", "keywords", "regex", "equals"}:
        raise InvalidRule(f"{where}: give the field and exactly one of keywords, regex, equals")
    (test,) = tests
    value = condition[test]
    if test == "keywords":
        if not isinstance(value, list) or not value:
            raise InvalidRule(f"{where}.keywords: must be a non-empty list of strings")
        for keyword in value:
            if not isinstance(keyword, str) or not keyword.split():
                raise InvalidRule(f"{where}.keywords: {keyword!r} is not a word or phrase")
    elif not isinstance(value, str) or not value:
        raise InvalidRule(f"{where}.{test}: must be a non-empty string")
    elif test == "regex":
        if len(value) > MAX_PATTERN:
            raise InvalidRule(f"{where}.regex: longer than {MAX_PATTERN} characters")
        try:
            re.compile(value)
        except re.error as exc:
            raise InvalidRule(f"{where}.regex: {value!r} is not a valid pattern: {exc}") from None


def evaluate(condition: Mapping[str, Any], facts: Facts) -> int:
    """0 when the condition does not hold, else a positive score."""
    if "all" in condition:
        total = 0
        for item in condition["all"]:
            score = evaluate(item, facts)
            if not score:
                return 0
            total += score
        return total
    if "any" in condition:
        return sum(evaluate(item, facts) for item in condition["any"])
    if "not" in condition:
        return 0 if evaluate(condition["not"], facts) else 1
    field = condition["field"]
    values = facts.values(field)
    if "keywords" in condition:
        return _keyword_score(tuple(condition["keywords"]), field, values)
    if "regex" in condition:
        pattern = _regex(condition["regex"])
        return 1 if any(pattern.search(value) for value in values) else 0
    wanted = str(condition["equals"]).lower()
    return 1 if any(value == wanted for value in values) else 0


def _keyword_score(keywords: tuple[str, ...], field: str, values: list[str]) -> int:
    # A word in the subject says more about the problem than the same word in a long body.
    subject_first = field in ("subject", "text")
    total = 0
    for keyword in keywords:
        pattern = keyword_pattern(keyword)
        for index, value in enumerate(values):
            weight = SUBJECT_WEIGHT if subject_first and index == 0 else 1
            total += weight * len(pattern.findall(value))
    return total


@lru_cache(maxsize=4096)
def keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = [re.escape(part) for part in keyword.lower().split()]
    return re.compile(r"(?<![\w.-])" + r"\s+".join(words) + r"(?![\w-])")


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def keywords_in(condition: Mapping[str, Any]) -> list[str]:
    """Every keyword a condition names (for showing why a rule hit)."""
    if "all" in condition or "any" in condition:
        return [
            k for item in condition.get("all", condition.get("any", [])) for k in keywords_in(item)
        ]
    if "not" in condition:
        return []
    return list(condition.get("keywords", []))
