"""`tiket teams` and `tiket technicians`: who gets notified, who may answer and act."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import delete, func, select, update

from tiket import clikit
from tiket.desk import Desk
from tiket.errors import Conflict, TiketError
from tiket.model import OPEN_STATUSES, Category, Rule, Team, Technician, TechnicianAddress, Ticket

# -- teams ------------------------------------------------------------------------------------


@click.group()
def teams() -> None:
    """Teams: a mailbox for notifications, members, managers for digests."""


def _team_dict(desk: Desk, team: Team) -> dict[str, Any]:
    open_count = desk.session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.team_id == team.id, Ticket.status.in_(OPEN_STATUSES)
        )
    )
    return {
        "name": team.name,
        "title": team.title,
        "mailbox": team.mailbox,
        "members": [m.email for m in team.members],
        "managers": list(team.managers or []),
        "open_tickets": open_count,
    }


@teams.command("list")
@click.option("--json", "as_json", is_flag=True)
def teams_list(as_json: bool) -> None:
    """Teams with their mailbox, members and open tickets."""
    with clikit.desk() as desk:
        rows = [_team_dict(desk, t) for t in desk.session.scalars(select(Team).order_by(Team.name))]
    if as_json:
        clikit.echo_json(rows)
        return
    for row in rows:
        members = ", ".join(row["members"]) or "no members"
        click.echo(
            f"{row['name']:<14} {row['mailbox']:<32} open {row['open_tickets']:<5} {members}"
        )


def _address(value: str, what: str) -> str:
    value = value.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or " " in value:
        raise TiketError(f"{what} {value!r} is not an email address")
    return value


@teams.command("add")
@click.argument("name")
@click.option("--mailbox", required=True, help="Where the team's notifications go.")
@click.option("--title", default="")
@click.option("--manager", multiple=True, help="A manager's address for digests (repeatable).")
def teams_add(name: str, mailbox: str, title: str, manager: tuple[str, ...]) -> None:
    """Add a team."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise TiketError(f"team name {name!r}: letters, digits, - and _ only")
    with clikit.desk() as desk:
        if desk.session.scalar(select(Team.id).where(func.lower(Team.name) == name.lower())):
            raise Conflict(f"a team {name!r} exists already")
        desk.session.add(
            Team(
                name=name,
                title=title,
                mailbox=_address(mailbox, "mailbox"),
                managers=[_address(m, "manager") for m in manager],
            )
        )
    click.echo(f"added team {name}")


@teams.command("edit")
@click.argument("name")
@click.option("--mailbox")
@click.option("--title")
@click.option("--manager", multiple=True, help="Replace the managers (repeatable).")
@click.option("--add-member", multiple=True, help="A technician's address (repeatable).")
@click.option("--remove-member", multiple=True)
def teams_edit(
    name: str,
    mailbox: str | None,
    title: str | None,
    manager: tuple[str, ...],
    add_member: tuple[str, ...],
    remove_member: tuple[str, ...],
) -> None:
    """Change a team's mailbox, title, managers or members."""
    with clikit.desk() as desk:
        team = desk.team(name)
        if mailbox:
            team.mailbox = _address(mailbox, "mailbox")
        if title is not None:
            team.title = title
        if manager:
            team.managers = [_address(m, "manager") for m in manager]
        for address in add_member:
            technician = _technician(desk, address)
            if technician not in team.members:
                team.members.append(technician)
        for address in remove_member:
            technician = _technician(desk, address)
            if technician in team.members:
                team.members.remove(technician)
        click.echo(f"team {team.name}: {json.dumps(_team_dict(desk, team))}")


@teams.command("remove")
@click.argument("name")
def teams_remove(name: str) -> None:
    """Remove a team; refused while it owns open tickets or routes a category."""
    with clikit.desk() as desk:
        team = desk.team(name)
        open_count = _team_dict(desk, team)["open_tickets"]
        if open_count:
            raise Conflict(
                f"team {name} owns {open_count} open ticket(s): transfer them first "
                f"(`tiket tickets list --team {name}`, then `tiket tickets transfer NUMBER TEAM`)"
            )
        routed = list(
            desk.session.scalars(select(Category.slug).where(Category.team_id == team.id))
        )
        if routed:
            raise Conflict(
                f"team {name} handles categories {', '.join(routed)}: give them another team first"
            )
        in_rules = [
            r.name
            for r in desk.session.scalars(select(Rule))
            if r.actions.get("team") == team.name or team.name in r.actions.get("shares", [])
        ]
        if in_rules:
            raise Conflict(f"rules name team {name}: {', '.join(in_rules)}; edit them first")
        desk.session.execute(update(Ticket).where(Ticket.team_id == team.id).values(team_id=None))
        desk.session.delete(team)
    click.echo(f"removed team {name}")


# -- technicians ------------------------------------------------------------------------------


@click.group()
def technicians() -> None:
    """Technicians: people whose mail answers tickets and runs commands."""


def _technician(desk: Desk, address: str) -> Technician:
    technician = desk.technician(address)
    if technician is None:
        raise TiketError(f"no technician {address!r}; `tiket technicians list` shows them")
    return technician


def _technician_dict(desk: Desk, t: Technician) -> dict[str, Any]:
    extra = desk.session.scalars(
        select(TechnicianAddress.address)
        .where(TechnicianAddress.technician_id == t.id)
        .order_by(TechnicianAddress.address)
    )
    return {
        "email": t.email,
        "name": t.name,
        "phone": t.phone,
        "addresses": list(extra),
        "teams": [team.name for team in t.teams],
    }


@technicians.command("list")
@click.option("--json", "as_json", is_flag=True)
def technicians_list(as_json: bool) -> None:
    """Technicians, their addresses and teams."""
    with clikit.desk() as desk:
        rows = [
            _technician_dict(desk, t)
            for t in desk.session.scalars(select(Technician).order_by(Technician.email))
        ]
    if as_json:
        clikit.echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['email']:<32} {row['name']:<20} {', '.join(row['teams'])}")


@technicians.command("add")
@click.argument("email")
@click.option("--team", "team_names", multiple=True, required=True, help="Team (repeatable).")
@click.option("--name", default="")
@click.option("--phone")
@click.option("--address", "addresses", multiple=True, help="Another sender address.")
def technicians_add(
    email: str,
    team_names: tuple[str, ...],
    name: str,
    phone: str | None,
    addresses: tuple[str, ...],
) -> None:
    """Add a technician (or add teams to an existing one)."""
    email = _address(email, "technician")
    with clikit.desk() as desk:
        team_rows = [desk.team(team) for team in team_names]
        technician = desk.technician(email)
        if technician is None:
            technician = Technician(email=email, name=name, phone=phone)
            desk.session.add(technician)
            desk.session.flush()
        else:
            technician.name = name or technician.name
            technician.phone = phone or technician.phone
        for team in team_rows:
            if team not in technician.teams:
                technician.teams.append(team)
        _add_addresses(desk, technician, addresses)
        teams_text = ", ".join(t.name for t in technician.teams)
    click.echo(f"technician {email} in {teams_text}")


def _add_addresses(desk: Desk, technician: Technician, addresses: tuple[str, ...]) -> None:
    for raw in addresses:
        address = _address(raw, "address")
        owner = desk.technician(address)
        if owner is not None and owner.id != technician.id:
            raise Conflict(f"{address} belongs to technician {owner.email}")
        if owner is None:
            desk.session.add(TechnicianAddress(address=address, technician_id=technician.id))


@technicians.command("edit")
@click.argument("email")
@click.option("--name")
@click.option("--phone")
@click.option("--team", "team_names", multiple=True, help="Replace the teams (repeatable).")
@click.option("--add-address", multiple=True)
@click.option("--remove-address", multiple=True)
def technicians_edit(
    email: str,
    name: str | None,
    phone: str | None,
    team_names: tuple[str, ...],
    add_address: tuple[str, ...],
    remove_address: tuple[str, ...],
) -> None:
    """Change a technician's name, phone, teams or extra addresses."""
    with clikit.desk() as desk:
        technician = _technician(desk, email)
        if name is not None:
            technician.name = name
        if phone is not None:
            technician.phone = phone or None
        if team_names:
            technician.teams = [desk.team(team) for team in team_names]
        _add_addresses(desk, technician, add_address)
        for raw in remove_address:
            desk.session.execute(
                delete(TechnicianAddress).where(
                    TechnicianAddress.address == raw.strip().lower(),
                    TechnicianAddress.technician_id == technician.id,
                )
            )
        click.echo(json.dumps(_technician_dict(desk, technician)))


@technicians.command("remove")
@click.argument("email")
def technicians_remove(email: str) -> None:
    """Remove a technician; their tickets become unassigned, their history stays."""
    with clikit.desk() as desk:
        technician = _technician(desk, email)
        desk.session.execute(
            update(Ticket).where(Ticket.assignee_id == technician.id).values(assignee_id=None)
        )
        desk.session.delete(technician)
    click.echo(f"removed technician {email}")


PEOPLE_GROUPS = (teams, technicians)
