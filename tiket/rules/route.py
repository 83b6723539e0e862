"""Route stage: the team that owns a new ticket — a rule's, the mailbox's, or the category's."""

from __future__ import annotations

from tiket.rules.context import Context, Lookup


def route(ctx: Context, lookup: Lookup) -> Context:
    if ctx.ticket is not None:
        return ctx.decide("route", "skip", "stays with its team")
    if ctx.team:
        return ctx.decide("route", "rule", f"a rule chose {ctx.team}")
    source = ctx.message.source_team
    if source and lookup.team_exists(source):
        return ctx.decide("route", "mailbox", f"mail came through {source}'s mailbox", team=source)
    team = lookup.category_team(ctx.category or "")
    if team is None:
        return ctx.decide("route", "default", "category has no team: default team", team=None)
    return ctx.decide("route", "category", f"{ctx.category} → {team}", team=team)
