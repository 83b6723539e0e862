"""`tiket rules`: list, show, add, edit, move, enable, disable, remove, export, import, test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tiket import clikit
from tiket.inbound.parse import parse
from tiket.rules import book
from tiket.rules.matching import InvalidRule
from tiket.rules.ruleset import ACTIONS, RuleSpec


@click.group()
def rules() -> None:
    """Routing rules: ordered, validated when saved, exportable as TOML."""


def _spec_dict(spec: RuleSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "position": spec.position,
        "enabled": spec.enabled,
        "stop": spec.stop,
        "match": dict(spec.match),
        "actions": dict(spec.actions),
    }


@rules.command("list")
@click.option("--json", "as_json", is_flag=True)
def rules_list(as_json: bool) -> None:
    """The rules in the order they are evaluated."""
    with clikit.state().db.session() as session:
        specs = book.specs(session)
    if as_json:
        clikit.echo_json([_spec_dict(s) for s in specs])
        return
    for index, spec in enumerate(specs, start=1):
        flags = ("" if spec.enabled else " [disabled]") + (" [stop]" if spec.stop else "")
        actions = ", ".join(f"{k}={v}" for k, v in spec.actions.items())
        click.echo(f"{index:>3}. {spec.name}{flags} → {actions}")


@rules.command("show")
@click.argument("name")
def rules_show(name: str) -> None:
    """One rule, whole, as JSON."""
    with clikit.state().db.session() as session:
        clikit.echo_json(_spec_dict(book.spec_of(book.get(session, name))))


def _condition(
    field: str, keywords: str | None, regex: str | None, equals: str | None, match: str | None
) -> dict[str, Any] | None:
    given = [x for x in (keywords, regex, equals, match) if x is not None]
    if len(given) > 1:
        raise InvalidRule("give one of --keywords, --regex, --equals, --match")
    if match is not None:
        try:
            parsed = json.loads(match)
        except json.JSONDecodeError as exc:
            raise InvalidRule(f"--match is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise InvalidRule("--match must be a JSON object")
        return parsed
    if keywords is not None:
        words = [w.strip() for w in keywords.split(",") if w.strip()]
        return {"field": field, "keywords": words}
    if regex is not None:
        return {"field": field, "regex": regex}
    if equals is not None:
        return {"field": field, "equals": equals}
    return None


def _actions(options: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    actions = dict(current or {})
    for key in ("category", "team", "priority", "answer"):
        if options.get(key):
            actions[key] = options[key]
    if options.get("spam"):
        actions["spam"] = True
    for key, option in (("watchers", "watcher"), ("shares", "share")):
        if options.get(option):
            actions[key] = list(options[option])
    if options.get("actions"):
        try:
            extra = json.loads(options["actions"])
        except json.JSONDecodeError as exc:
            raise InvalidRule(f"--actions is not valid JSON: {exc}") from None
        if not isinstance(extra, dict):
            raise InvalidRule("--actions must be a JSON object")
        actions.update(extra)
    for key in options.get("drop", ()) or ():
        if key not in ACTIONS:
            raise InvalidRule(f"--drop: unknown action {key!r}")
        actions.pop(key, None)
    return actions


def _rule_options(function: Any) -> Any:
    options = [
        click.option(
            "--field",
            default="text",
            show_default=True,
            help="subject, body, text, sender, sender_domain, recipient, channel",
        ),
        click.option("--keywords", help="Comma-separated words or phrases."),
        click.option("--regex", help="A regular expression (case-insensitive)."),
        click.option("--equals", help="The whole value (case-insensitive)."),
        click.option("--match", "match_json", help="A whole condition as JSON (all/any/not)."),
        click.option("--category", help="Set the category (slug)."),
        click.option("--team", help="Set the owning team."),
        click.option("--priority", help="low, normal, high or urgent."),
        click.option("--watcher", multiple=True, help="Add a watcher address (repeatable)."),
        click.option("--share", multiple=True, help="Share with a team (repeatable)."),
        click.option("--spam", is_flag=True, help="Close as spam."),
        click.option("--answer", help="Auto-answer with template answers/NAME.txt."),
        click.option("--actions", "actions_json", help="Actions as JSON."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@rules.command("add")
@click.argument("name")
@_rule_options
@click.option("--stop/--no-stop", default=False, help="A hit ends the evaluation.")
@click.option("--disabled", is_flag=True)
@click.option("--position", type=int, default=0, help="Default: after the last rule.")
def rules_add(
    name: str,
    field: str,
    keywords: str | None,
    regex: str | None,
    equals: str | None,
    match_json: str | None,
    category: str | None,
    team: str | None,
    priority: str | None,
    watcher: tuple[str, ...],
    share: tuple[str, ...],
    spam: bool,
    answer: str | None,
    actions_json: str | None,
    stop: bool,
    disabled: bool,
    position: int,
) -> None:
    """Add a rule; it is checked (patterns compile, names exist) before it is saved."""
    condition = _condition(field, keywords, regex, equals, match_json)
    if condition is None:
        raise InvalidRule("a rule needs a condition: --keywords, --regex, --equals or --match")
    actions = _actions(
        {
            "category": category,
            "team": team,
            "priority": priority,
            "watcher": watcher,
            "share": share,
            "spam": spam,
            "answer": answer,
            "actions": actions_json,
        }
    )
    spec = RuleSpec(
        name=name,
        match=condition,
        actions=actions,
        position=position,
        enabled=not disabled,
        stop=stop,
    )
    with clikit.state().db.session() as session:
        rule = book.add(session, spec)
        click.echo(f"added rule {rule.name!r} at position {rule.position}")


@rules.command("edit")
@click.argument("name")
@click.option("--rename", help="A new name.")
@_rule_options
@click.option("--drop", multiple=True, help="Remove an action (repeatable).")
@click.option("--stop/--no-stop", default=None)
def rules_edit(
    name: str,
    rename: str | None,
    field: str,
    keywords: str | None,
    regex: str | None,
    equals: str | None,
    match_json: str | None,
    category: str | None,
    team: str | None,
    priority: str | None,
    watcher: tuple[str, ...],
    share: tuple[str, ...],
    spam: bool,
    answer: str | None,
    actions_json: str | None,
    drop: tuple[str, ...],
    stop: bool | None,
) -> None:
    """Change a rule's condition, actions, name or stop flag; checked before saving."""
    with clikit.state().db.session() as session:
        current = book.spec_of(book.get(session, name))
        changes: dict[str, Any] = {}
        condition = _condition(field, keywords, regex, equals, match_json)
        if condition is not None:
            changes["match"] = condition
        actions = _actions(
            {
                "category": category,
                "team": team,
                "priority": priority,
                "watcher": watcher,
                "share": share,
                "spam": spam,
                "answer": answer,
                "actions": actions_json,
                "drop": drop,
            },
            dict(current.actions),
        )
        if actions != dict(current.actions):
            changes["actions"] = actions
        if rename:
            changes["name"] = rename
        if stop is not None:
            changes["stop"] = stop
        if not changes:
            raise InvalidRule("nothing to change: give a condition, an action, --rename or --stop")
        rule = book.edit(session, name, **changes)
        click.echo(f"changed rule {rule.name!r}: {', '.join(sorted(changes))}")


@rules.command("move")
@click.argument("name")
@click.argument("place", type=int)
def rules_move(name: str, place: int) -> None:
    """Put rule NAME at PLACE (1 = evaluated first)."""
    with clikit.state().db.session() as session:
        book.move(session, name, place)
    click.echo(f"rule {name!r} is now number {place}")


def _set_enabled(name: str, enabled: bool) -> None:
    with clikit.state().db.session() as session:
        book.edit(session, name, enabled=enabled)
    click.echo(f"rule {name!r} {'enabled' if enabled else 'disabled'}")


@rules.command("enable")
@click.argument("name")
def rules_enable(name: str) -> None:
    """Evaluate rule NAME again."""
    _set_enabled(name, True)


@rules.command("disable")
@click.argument("name")
def rules_disable(name: str) -> None:
    """Keep rule NAME but skip it."""
    _set_enabled(name, False)


@rules.command("remove")
@click.argument("name")
def rules_remove(name: str) -> None:
    """Delete rule NAME."""
    with clikit.state().db.session() as session:
        book.remove(session, name)
    click.echo(f"removed rule {name!r}")


@rules.command("export")
@click.option("-o", "--output", type=click.File("w"), default="-")
def rules_export(output: Any) -> None:
    """Write every rule as TOML (import it again with `tiket rules import`)."""
    with clikit.state().db.session() as session:
        output.write(book.export_toml(session))


@rules.command("import")
@click.argument("source", type=click.File("r"))
@click.option("--dry-run", is_flag=True, help="Show the changes, change nothing.")
def rules_import(source: Any, dry_run: bool) -> None:
    """Make the rules equal to a TOML file: adds, changes and removes; all checked first."""
    wanted = book.parse_toml(source.read(), source=source.name)
    with clikit.state().db.session() as session:
        changes = book.import_specs(session, wanted, dry_run=dry_run)
    for change in changes:
        click.echo(str(change))
    word = "would change" if dry_run else "changed"
    click.echo(f"{word} {len(changes)} rule(s)" if changes else "no changes")


@rules.command("test")
@click.argument("message", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--text", help="Test a text instead of a mail file.")
@click.option("--subject", default="", help="With --text: the subject.")
@click.option("--sender", default="someone@example.org", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def rules_test(
    message: str | None, text: str | None, subject: str, sender: str, as_json: bool
) -> None:
    """Dry run: every rule that hit or missed, and the category, team and priority."""
    from tiket.rules.dryrun import dry_run

    if (message is None) == (text is None):
        raise InvalidRule("give a MESSAGE.eml file or --text, not both")
    state = clikit.state()
    with state.db.session() as session:
        parsed = parse(Path(message).read_bytes()) if message else None
        result = dry_run(
            session,
            state.settings,
            state.secret,
            parsed=parsed,
            text=text or "",
            subject=subject,
            sender=sender,
        )
    if as_json:
        clikit.echo_json(result)
        return
    for step in result["trace"]:
        click.echo(f"  {step['stage']:<9} {step['outcome']:<14} {step['detail']}")
    click.echo(
        f"category {result['category']} · team {result['team']} · priority {result['priority']}"
    )
