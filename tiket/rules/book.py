"""The rule book: rule rows read, saved (validated first), reordered, exported and imported."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import tomli_w
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiket.errors import Conflict, NotFound
from tiket.model import Category, Rule, Team
from tiket.rules.matching import InvalidRule
from tiket.rules.ruleset import Known, RuleSpec, category_rule, validate_rule

STEP = 10


def spec_of(rule: Rule) -> RuleSpec:
    return RuleSpec(
        name=rule.name,
        match=rule.match,
        actions=rule.actions,
        position=rule.position,
        enabled=rule.enabled,
        stop=rule.stop,
    )


def specs(session: Session) -> list[RuleSpec]:
    rows = session.scalars(select(Rule).order_by(Rule.position, Rule.id))
    return [spec_of(rule) for rule in rows]


def known(session: Session) -> Known:
    return Known(
        categories=frozenset(session.scalars(select(Category.slug))),
        teams=frozenset(session.scalars(select(Team.name))),
    )


def get(session: Session, name: str) -> Rule:
    rule = session.scalar(select(Rule).where(Rule.name == name))
    if rule is None:
        raise NotFound(f"no rule {name!r}; `tiket rules list` shows the rules")
    return rule


def add(session: Session, spec: RuleSpec) -> Rule:
    validate_rule(spec, known(session))
    if session.scalar(select(Rule.id).where(Rule.name == spec.name)) is not None:
        raise Conflict(f"a rule named {spec.name!r} exists already; use `tiket rules edit`")
    position = spec.position or (session.scalar(select(func.max(Rule.position))) or 0) + STEP
    rule = Rule(
        name=spec.name,
        match=dict(spec.match),
        actions=dict(spec.actions),
        position=position,
        enabled=spec.enabled,
        stop=spec.stop,
    )
    session.add(rule)
    session.flush()
    return rule


def edit(session: Session, rule_name: str, /, **changes: Any) -> Rule:
    rule = get(session, rule_name)
    spec = replace(spec_of(rule), **changes)
    validate_rule(spec, known(session))
    if spec.name != rule.name and session.scalar(select(Rule.id).where(Rule.name == spec.name)):
        raise Conflict(f"a rule named {spec.name!r} exists already")
    rule.name = spec.name
    rule.match = dict(spec.match)
    rule.actions = dict(spec.actions)
    rule.enabled = spec.enabled
    rule.stop = spec.stop
    return rule


def move(session: Session, name: str, place: int) -> list[Rule]:
    """Put a rule at 1-based `place` in the order, renumbering every position."""
    rules = list(session.scalars(select(Rule).order_by(Rule.position, Rule.id)))
    rule = get(session, name)
    if not 1 <= place <= len(rules):
        raise InvalidRule(f"place must be between 1 and {len(rules)}")
    rules.remove(rule)
    rules.insert(place - 1, rule)
    for index, item in enumerate(rules, start=1):
        item.position = index * STEP
    return rules


def remove(session: Session, name: str) -> None:
    session.delete(get(session, name))


def seed_category_rules(session: Session) -> list[str]:
    """One keyword rule a category, for categories that have keywords and no rule yet."""
    created = []
    existing = set(session.scalars(select(Rule.name)))
    categories = session.scalars(select(Category).order_by(Category.position, Category.id))
    for index, category in enumerate(categories, start=1):
        spec = category_rule(category.slug, category.keywords or [], 1000 + index * STEP)
        if spec.name in existing or not category.keywords:
            continue
        add(session, spec)
        created.append(f"rule {spec.name!r}")
    return created


# -- TOML -------------------------------------------------------------------------------------


def export_toml(session: Session) -> str:
    rules = [_as_table(spec) for spec in specs(session)]
    return tomli_w.dumps({"rule": rules}) if rules else ""


def _as_table(spec: RuleSpec) -> dict[str, Any]:
    table = asdict(spec)
    return {
        "name": table["name"],
        "position": table["position"],
        "enabled": table["enabled"],
        "stop": table["stop"],
        "match": dict(spec.match),
        "actions": dict(spec.actions),
    }


@dataclass(frozen=True)
class Change:
    verb: str  # add, change, remove
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.verb:<7} {self.name}{': ' + self.detail if self.detail else ''}"


def parse_toml(text: str, source: str = "rules file") -> list[RuleSpec]:
    """Read and check a whole rules file; raises InvalidRule naming what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRule(f"{source} is not valid TOML: {exc}") from None
    unknown = set(data) - {"rule"}
    if unknown:
        raise InvalidRule(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    tables = data.get("rule", [])
    if not isinstance(tables, list):
        raise InvalidRule(f"{source}: rules are [[rule]] tables")
    result = []
    names: set[str] = set()
    for index, table in enumerate(tables, start=1):
        where = f"{source}: rule #{index}"
        allowed = {"name", "position", "enabled", "stop", "match", "actions"}
        if not isinstance(table, dict) or set(table) - allowed:
            extra = ", ".join(sorted(set(table) - allowed)) if isinstance(table, dict) else ""
            raise InvalidRule(f"{where}: unknown key(s) {extra}")
        name = table.get("name")
        if not isinstance(name, str):
            raise InvalidRule(f"{where}: name is required")
        if name in names:
            raise InvalidRule(f"{where}: the name {name!r} is used twice")
        names.add(name)
        position, enabled, stop = (
            table.get("position", index * STEP),
            table.get("enabled", True),
            table.get("stop", False),
        )
        if not isinstance(position, int) or isinstance(position, bool):
            raise InvalidRule(f"{where}: position must be a whole number")
        if not isinstance(enabled, bool) or not isinstance(stop, bool):
            raise InvalidRule(f"{where}: enabled and stop must be true or false")
        result.append(
            RuleSpec(
                name=name,
                match=table.get("match", {}),
                actions=table.get("actions", {}),
                position=position,
                enabled=enabled,
                stop=stop,
            )
        )
    return result


def import_specs(session: Session, wanted: Sequence[RuleSpec], *, dry_run: bool) -> list[Change]:
    """Make the rule book equal to `wanted`: every rule is checked before anything changes."""
    facts = known(session)
    for spec in wanted:
        validate_rule(spec, facts)
    current = {rule.name: rule for rule in session.scalars(select(Rule))}
    changes: list[Change] = []
    for spec in wanted:
        rule = current.pop(spec.name, None)
        if rule is None:
            changes.append(Change("add", spec.name))
            if not dry_run:
                session.add(
                    Rule(
                        name=spec.name,
                        match=dict(spec.match),
                        actions=dict(spec.actions),
                        position=spec.position,
                        enabled=spec.enabled,
                        stop=spec.stop,
                    )
                )
            continue
        differs = [
            key
            for key in ("match", "actions", "position", "enabled", "stop")
            if getattr(rule, key) != getattr(spec, key)
        ]
        if differs:
            changes.append(Change("change", spec.name, ", ".join(differs)))
            if not dry_run:
                rule.match, rule.actions = dict(spec.match), dict(spec.actions)
                rule.position, rule.enabled, rule.stop = spec.position, spec.enabled, spec.stop
    for name, rule in sorted(current.items()):
        changes.append(Change("remove", name))
        if not dry_run:
            session.delete(rule)
    return changes
