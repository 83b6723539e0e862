"""The privacy commands at the CLI: `tiket people export|erase`, `tiket retention run`,
`tiket audit list`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from tiket import clikit
from tiket.errors import NotFound
from tiket.model import Event, utcnow
from tiket.privacy import audit, export, retention
from tiket.privacy.compact import WAIT_SECONDS, Compaction, compact
from tiket.privacy.erase import erase, relearn


@click.group("audit")
def audit_group() -> None:
    """The access audit: who was shown personal data, what and when."""


@audit_group.command("list")
@click.option("--ticket", "ticket", metavar="N", help="Only this ticket number.")
@click.option("--person", metavar="X", help="Only this requester (address or phone number).")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]),
    help="Only from this UTC time on (YYYY-MM-DD[THH:MM[:SS]]).",
)
@click.option("--json", "as_json", is_flag=True)
def audit_list(
    ticket: str | None, person: str | None, since: datetime | None, as_json: bool
) -> None:
    """List the access audit, oldest first."""
    with clikit.state().db.session() as session:
        requester_id = None
        if person is not None:
            found = audit.find_requester(session, person)
            if found is None:
                raise NotFound(f"no requester {person}")
            requester_id = found.id
        rows = audit.entries(
            session,
            ticket=ticket,
            requester_id=requester_id,
            since=since.replace(tzinfo=UTC) if since else None,
        )
    if as_json:
        clikit.echo_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['at'][:19]}  {row['operator']:<16} {row['action']:<16} "
            f"{row['ticket'] or '-':<16} requester {row['requester_id'] or '-'}"
        )


@click.group("people")
def people() -> None:
    """One person's data: export it, or erase it (UU No. 27 of 2022)."""


_WAIT = click.option(
    "--wait",
    type=click.FloatRange(0),
    default=WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait for other connections before compacting the SQLite file.",
)


@people.command("erase")
@click.argument("person", metavar="EMAIL|PHONE")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@_WAIT
def people_erase(person: str, yes: bool, wait: float) -> None:
    """Erase everything stored about one person; tickets stay, counted, under a pseudonym."""
    if not yes:
        click.confirm(f"Erase every trace of {person}? This cannot be undone", abort=True)
    state = clikit.state()
    operator = audit.operator_name(state.settings)
    with state.db.session() as session:
        done = erase(session, person, state.settings.outbox_dir)
        if done.total:
            # When and by whom, and how much went: never who it was.
            session.add(Event(kind="person_erased", actor=operator, data={"changed": done.counts}))
    if not done.total:
        click.echo("nothing found to erase")
        return
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(done.counts.items()))
    click.echo(f"erased: {counts}")
    learned = relearn(state.db, state.settings)
    if learned:
        click.echo(learned)
    if done.configuration:
        named = ", ".join(f"{table} {n}" for table, n in sorted(done.configuration.items()))
        click.echo(f"warning: the set-up still names them (edit it by hand): {named}", err=True)
    _report_compaction(compact(state.db, wait))


def _report_compaction(result: Compaction) -> None:
    if result.done:
        click.echo(f"compacted: {result.detail}")
        return
    click.echo(
        f"warning: the data is erased, but the database could not be compacted ({result.detail}); "
        "old copies may stay in free pages until `tiket people compact` succeeds",
        err=True,
    )


@people.command("compact")
@_WAIT
def people_compact(wait: float) -> None:
    """Rewrite the database so erased data leaves its files (SQLite VACUUM, PostgreSQL VACUUM)."""
    result = compact(clikit.state().db, wait)
    _report_compaction(result)
    if not result.done:
        raise SystemExit(1)


@people.command("export")
@click.argument("person", metavar="EMAIL|PHONE")
@click.option(
    "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="ZIP file."
)
def people_export(person: str, output: Path) -> None:
    """Write everything stored about one person to a ZIP: index.json and the files."""
    settings = clikit.state().settings
    with clikit.state().db.session() as session:
        requester, index, bundle = export.collect(session, person)
        try:
            files = export.write_zip(output, index, bundle)
        except OSError as exc:  # nothing written, so no access recorded either
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
        audit.record_person(session, audit.operator_name(settings), "people export", requester.id)
    click.echo(f"wrote {output}: {len(index['tickets'])} tickets, {files} files")


@click.group("retention")
def retention_group() -> None:
    """Retention of personal data after tickets closed ([retention] in the settings)."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only show what would go.")
def retention_run(dry_run: bool) -> None:
    """Remove raw originals and attachments, anonymise old tickets; the daily job does the same."""
    state = clikit.state()
    if dry_run:
        planned = retention.plan(state.db, state.settings, utcnow())
        click.echo(planned.summary(dry_run=True))
        for number in planned.numbers:
            click.echo(f"  would anonymise {number}")
        return
    click.echo(retention.run(state.db, state.settings).summary())


COMMANDS = (audit_group, people, retention_group)
