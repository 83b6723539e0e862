"""The `tiket` command: thin click wrappers over the desk, the queues and the daemon."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket import config as config_module
from tiket import logs
from tiket.config import Settings
from tiket.desk import Desk
from tiket.errors import ConfigError, Conflict, DatabaseUnavailable, NotFound, TiketError
from tiket.inbound.parse import looks_like_mail
from tiket.inbound.store import Arrival, InboundStore, mail_key
from tiket.learn.cli import LEARN_GROUPS
from tiket.learn.cli import TICKET_VERBS as LEARN_TICKET_VERBS
from tiket.model import InboundMessage, InboundState, Ticket, utcnow
from tiket.model.db import Database
from tiket.model.migrate import upgrade
from tiket.model.seed import seed
from tiket.people_cli import PEOPLE_GROUPS
from tiket.privacy import audit
from tiket.privacy.cli import COMMANDS as PRIVACY_COMMANDS
from tiket.reports.cli import COMMANDS as REPORT_COMMANDS
from tiket.rules import cli as rules_cli
from tiket.ticket_cli import TICKET_VERBS
from tiket.views import ticket_dict, ticket_rows

F = TypeVar("F", bound=Callable[..., Any])

EX_DATAERR = 65
EX_TEMPFAIL = 75
EX_CONFIG = 2


class State:
    """What every command shares: the settings, and a database opened on first use."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._db: Database | None = None
        self.verbose = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = config_module.load(self.config_path)
        return self._settings

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.settings.database_url)
        return self._db

    def close(self) -> None:
        """Give back the database connections when the command ends."""
        if self._db is not None:
            self._db.dispose()
            self._db = None

    @property
    def secret(self) -> bytes:
        return config_module.mail_secret(self.settings)

    @contextmanager
    def desk(self) -> Iterator[Desk]:
        with self.db.session() as session:
            yield Desk(session, self.settings, self.secret)


pass_state = click.make_pass_decorator(State)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"tiket: {message}", err=True)
    sys.exit(code)


class Group(click.Group):
    """Turns tiket's errors into one line on stderr and a meaningful exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            fail(str(exc), EX_CONFIG)
        except DatabaseUnavailable as exc:
            fail(f"{exc}; check [database] url", EX_TEMPFAIL)
        except NotFound as exc:
            fail(str(exc), 1)
        except TiketError as exc:
            fail(str(exc), 1)


@click.group(cls=Group)
@click.option(
    "--config",
    "config_path",
    envvar="TIKET_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML configuration file (or TIKET_CONFIG).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.version_option(package_name="tiket")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """tiket: an IT helpdesk reached by email, SMS and WhatsApp."""
    logs.setup(verbose=verbose)
    ctx.obj = State(config_path)
    ctx.obj.verbose = verbose
    ctx.call_on_close(ctx.obj.close)


# -- setting up -------------------------------------------------------------------------------


@main.command()
@pass_state
def init(state: State) -> None:
    """Create or upgrade the database schema and add the default categories and team."""
    db = state.db
    upgrade(db)
    with db.session() as session:
        created = seed(session, team_mailbox=_default_mailbox(state.settings))
    state.secret  # noqa: B018 - generate the signing key now, not on the first mail
    for item in created:
        click.echo(f"created {item}")
    click.echo(f"database ready: {db.engine.url.render_as_string()}")


def _default_mailbox(settings: Settings) -> str:
    domain = settings.mail.address.rpartition("@")[2]
    return f"support@{domain}"


@main.command()
@pass_state
def serve(state: State) -> None:
    """Run the daemon: SMTP/LMTP listeners, processing and delivery, until SIGTERM."""
    from tiket.gateway.daemon import Daemon

    logs.setup(state.settings.log.level, state.settings.log.format, verbose=state.verbose)
    asyncio.run(Daemon(state.settings).run())


@main.group("config")
def config_group() -> None:
    """Show the configuration."""


@config_group.command("example")
def config_example() -> None:
    """Print a commented example configuration file."""
    click.echo(config_module.EXAMPLE, nl=False)


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def config_show(state: State, as_json: bool) -> None:
    """Print the effective settings, secrets masked."""
    values = config_module.as_dict(state.settings)
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    for section, items in values.items():
        if isinstance(items, list):
            for item in items:
                click.echo(f"\n[[{section}]]")
                for key, value in item.items():
                    click.echo(f"{key} = {json.dumps(value)}")
            continue
        click.echo(f"\n[{section}]")
        for key, value in items.items():
            click.echo(f"{key} = {json.dumps(value)}")


# -- the MTA pipe -----------------------------------------------------------------------------


@main.command()
@click.argument("source", default="-", type=click.File("rb"))
@pass_state
def ingest(state: State, source: Any) -> None:
    """Take one message from a file or standard input (an MTA pipe).

    Exit 0 when stored, 65 when the input is not a mail, 75 when the database is unreachable
    (the MTA keeps the message and tries again).
    """
    raw = source.read()
    if not looks_like_mail(raw):
        fail("the input is not an Internet mail message (no header block)", EX_DATAERR)
    arrival = Arrival(raw=raw, channel="email", idempotency_key=mail_key(raw), source="pipe")
    try:
        accepted = InboundStore(state.db).accept(arrival)
    except DatabaseUnavailable as exc:
        fail(str(exc), EX_TEMPFAIL)
    word = "already stored as" if accepted.duplicate else "stored as"
    click.echo(f"{word} inbound {accepted.id}")


# -- the inbound queue ------------------------------------------------------------------------


@main.group()
def inbound() -> None:
    """The queue of raw inbound messages."""


@inbound.command("list")
@click.option("--failed", is_flag=True, help="Only quarantined messages.")
@click.option("--state", "state_name", type=click.Choice([s.value for s in InboundState]))
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def inbound_list(
    state: State, failed: bool, state_name: str | None, limit: int, as_json: bool
) -> None:
    """List inbound messages, newest first."""
    wanted = InboundState.FAILED if failed else state_name
    with state.db.session() as session:
        query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
        if wanted:
            query = query.where(InboundMessage.state == wanted)
        rows = [_inbound_dict(session, row) for row in session.scalars(query)]
        operator = audit.operator_name(state.settings)
        audit.record_numbers(
            session, operator, "inbound list", [r["ticket"] for r in rows if r["ticket"]]
        )
        audit.record_senders(
            session, operator, "inbound list", [r["envelope_from"] for r in rows if not r["ticket"]]
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no messages")
        return
    for row in rows:
        click.echo(
            f"{row['id']:>7}  {row['state']:<9}  {row['channel']:<8} {row['received_at'][:19]}  "
            f"{row['ticket'] or '-':<13}  {row['error'] or ''}"
        )


def _inbound_dict(session: Session, row: InboundMessage) -> dict[str, Any]:
    number = session.scalar(select(Ticket.number).where(Ticket.id == row.ticket_id))
    return {
        "id": row.id,
        "state": row.state,
        "channel": row.channel,
        "source": row.source,
        "envelope_from": row.envelope_from,
        "envelope_to": row.envelope_to,
        "size": row.size,
        "attempts": row.attempts,
        "error": row.error,
        "ticket": number,
        "received_at": row.received_at.isoformat(),
    }


@inbound.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Every quarantined message.")
@pass_state
def inbound_retry(state: State, ids: tuple[int, ...], retry_all: bool) -> None:
    """Put quarantined (or discarded) messages back in the queue; the daemon replays them."""
    if not ids and not retry_all:
        fail("name message ids, or --all for every quarantined message", EX_CONFIG)
    with state.db.session() as session:
        query = select(InboundMessage)
        if retry_all:
            query = query.where(InboundMessage.state == InboundState.FAILED)
        else:
            query = query.where(InboundMessage.id.in_(ids))
        rows = list(session.scalars(query))
        missing = set(ids) - {row.id for row in rows}
        if missing:
            fail(f"no inbound message {', '.join(map(str, sorted(missing)))}")
        for row in rows:
            if row.state == InboundState.DONE:
                fail(f"inbound {row.id} was processed already (ticket {row.ticket_id})")
            row.state = InboundState.QUEUED
            row.next_attempt_at = utcnow()
            row.error = None
    click.echo(f"queued {len(rows)} message(s) again")


# -- tickets ----------------------------------------------------------------------------------


@main.group()
def tickets() -> None:
    """Find and show tickets."""


@tickets.command("list")
@click.option("--status", "statuses", multiple=True, help="new, open, pending, resolved, closed")
@click.option("--team")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def tickets_list(
    state: State, statuses: tuple[str, ...], team: str | None, limit: int, as_json: bool
) -> None:
    """List tickets, newest first."""
    with state.desk() as desk:
        team_id = desk.team(team).id if team else None
        rows = ticket_rows(desk.session, statuses=statuses, team_id=team_id, limit=limit)
        operator = audit.operator_name(state.settings)
        audit.record_numbers(desk.session, operator, "tickets list", [r["number"] for r in rows])
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no tickets")
        return
    for row in rows:
        click.echo(
            f"{row['number']}  {row['status']:<8} {row['team'] or '-':<12} "
            f"{row['category'] or '-':<12} {row['created_at'][:16]}  {row['subject'][:60]}"
        )


@tickets.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def tickets_show(state: State, number: str, as_json: bool) -> None:
    """Show one ticket with its whole history."""
    with state.desk() as desk:
        shown = desk.ticket(number)
        data = ticket_dict(desk.session, shown)
        audit.record(desk.session, audit.operator_name(state.settings), "tickets show", shown)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    requester = data["requester"]
    click.echo(f"{data['number']}  {data['subject']}")
    click.echo(
        f"status {data['status']} · category {data['category']} · team {data['team']} · "
        f"channel {data['channel']} · priority {data['priority']}"
    )
    click.echo(f"requester {requester['name']} <{requester['email'] or requester['phone']}>")
    click.echo(
        f"opened {data['created_at']}"
        + (f" · closed {data['closed_at']}" if data["closed_at"] else "")
    )
    for entry in data["entries"]:
        click.echo(
            f"\n--- {entry['created_at'][:19]} {entry['kind']} ({entry['direction']}, "
            f"{entry['channel']}) {entry['author']}"
        )
        click.echo(entry["body"])
    for event in data["events"]:
        if event["kind"] == "opened" and event["data"].get("trace"):
            click.echo("\nwhy it was routed so:")
            for step in event["data"]["trace"]:
                click.echo(f"  {step['stage']:<9} {step['outcome']:<14} {step['detail']}")


@tickets.command("sms")
@click.argument("number")
@click.argument("text")
@click.option("--by", "by", default="", help="Technician email to sign the text with.")
@pass_state
def tickets_sms(state: State, number: str, text: str, by: str) -> None:
    """Text the requester of a ticket (SMS, or WhatsApp if they wrote by WhatsApp)."""
    from tiket.desk import Actor
    from tiket.desk_texts import text_requester

    if not text.strip():
        fail("the text is empty", EX_CONFIG)
    with state.desk() as desk:
        technician = desk.technician(by) if by else None
        if by and technician is None:
            fail(f"no technician {by}; `tiket technicians add` adds one", EX_CONFIG)
        author = (
            Actor(technician.name or technician.email, technician.email, technician.id)
            if technician
            else Actor(state.settings.mail.office_name, "cli")
        )
        ticket = desk.ticket(number)
        refused: Conflict | None = None
        try:
            with desk.session.begin_nested():  # a refusal undoes its own work, not the audit
                entry = text_requester(desk, ticket, author, text.strip())
        except Conflict as exc:  # its sentence names the phone number: shown, so audited too
            refused = exc
        audit.record(desk.session, audit.operator_name(state.settings), "tickets sms", ticket)
        phone = ticket.requester.phone
    if refused is not None:
        raise refused
    click.echo(f"queued a {entry.channel} text to {phone} on {number.upper()}")


# -- rules, teams, technicians and ticket verbs (rules/cli.py, people_cli.py, ticket_cli.py) -

main.add_command(rules_cli.rules)
for _group in PEOPLE_GROUPS:
    main.add_command(_group)
for _verb in TICKET_VERBS:
    tickets.add_command(_verb)


# -- scheduled jobs, calendar, SLA, reports and trends (tiket/reports/cli.py) ----------------

for _command in REPORT_COMMANDS:
    main.add_command(_command)


# -- knowledge base and classifier (tiket/learn/cli.py) ---------------------------------------

for _group in LEARN_GROUPS:
    main.add_command(_group)
for _verb in LEARN_TICKET_VERBS:
    tickets.add_command(_verb)


# -- personal data: the access audit (tiket/privacy/cli.py) -----------------------------------

for _command in PRIVACY_COMMANDS:
    main.add_command(_command)


# -- IMAP mailboxes and the daemon's state ----------------------------------------------------


@main.group()
def mailboxes() -> None:
    """The IMAP mailboxes the daemon watches ([[imap]] tables in the configuration)."""


@mailboxes.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def mailboxes_test(state: State, name: str, as_json: bool) -> None:
    """Log in to mailbox NAME, list its folders and count the waiting mail; changes nothing."""
    from tiket.inbound.imap_check import check, mailbox_named
    from tiket.inbound.imap_connect import ImapError

    mailbox = mailbox_named(state.settings, name)
    try:
        result = check(mailbox)
    except ImapError as exc:
        fail(f"mailbox {name}: {exc}")
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    for line in result.lines():
        click.echo(line)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
def status(state: State, as_json: bool) -> None:
    """The database, the queues and every mailbox. Exit 0 when all is well, 1 when not."""
    from tiket.gateway.status import gather

    report = gather(state.settings, state.db)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.reachable:
        sys.exit(EX_TEMPFAIL)
    if not report.healthy:
        sys.exit(1)
