"""Route stage: the team that owns the ticket, from its category."""

from __future__ import annotations

from tiket.rules.context import Context, Lookup


def route(ctx: Context, lookup: Lookup) -> Context:
    if ctx.ticket is not None:
        return ctx.decide("route", "skip", "stays with its team")
    team = lookup.category_team(ctx.category or "")
    if team is None:
        return ctx.decide("route", "default", "category has no team: default team", team=None)
    return ctx.decide("route", "team", f"{ctx.category} → {team}", team=team)
