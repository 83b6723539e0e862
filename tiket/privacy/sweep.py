"""One person in rows that are not theirs: every text, JSON and file column of the schema.

Quoted in another requester's mail, copied on it, named in a note, an event or a solution:
the database finds candidate rows (a LIKE over each column, phone numbers compared with their
separators removed), and the person's own words are taken out in Python; nobody else's
addresses or numbers are touched. A file column (a raw original, an attachment, a rendered
mail) cannot be edited: it goes when it names the person, or when its row's text did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    LargeBinary,
    String,
    Table,
    Text,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from tiket.model import Base, utcnow
from tiket.privacy.redact import PHONE_SEPARATORS, Redactor, is_phone, national_digits

# Handled by the erasure itself (requesters), or holding no requester text by design
# (the audit keeps ids; a classifier is retrained instead of edited: erase.relearn).
SKIPPED = frozenset({"access_audit", "learned_models", "requesters"})
# The helpdesk's own set-up: reported when it names the person, never edited behind its back.
CONFIGURATION = frozenset(
    {
        "categories",
        "holidays",
        "imap_mailboxes",
        "rules",
        "sla_targets",
        "teams",
        "technician_addresses",
        "technicians",
    }
)
# Keys that thread and deduplicate mail: rewriting them would break threading or uniqueness.
KEYS = frozenset(
    {
        ("entries", "message_id"),
        ("inbound_messages", "idempotency_key"),
        ("message_refs", "message_id"),
        ("outbox", "message_id"),
        ("surveys", "token"),
        ("tickets", "number"),
    }
)


@dataclass
class Swept:
    """Rows changed by table, files to remove, and set-up rows that still name the person."""

    changed: dict[str, int] = field(default_factory=dict)
    outbox_ids: list[int] = field(default_factory=list)
    configuration: dict[str, int] = field(default_factory=dict)


def _searchable(session: Session, table: Table) -> list[Any]:
    return [
        c
        for c in table.columns
        if isinstance(c.type, String | JSON | LargeBinary)
        and not c.primary_key
        and (table.name, c.name) not in KEYS
    ]


def _as_text(session: Session, column: Any) -> ColumnElement[str]:
    if isinstance(column.type, LargeBinary):
        if session.get_bind().dialect.name == "postgresql":
            return func.lower(func.encode(column, "escape"))
        return func.lower(cast(column, Text))
    if isinstance(column.type, JSON):
        return func.lower(cast(column, Text))
    return func.lower(column)


def _without_separators(text: ColumnElement[str]) -> ColumnElement[str]:
    for separator in PHONE_SEPARATORS:
        text = func.replace(text, separator, "")
    return text


def _like(word: str) -> str:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def candidates(
    session: Session, table: Table, columns: list[Any], words: Iterable[str]
) -> ColumnElement[bool]:
    """Rows of `table` where some column may hold one of `words` (the database's view)."""
    tests: list[ColumnElement[bool]] = []
    is_sqlite = session.get_bind().dialect.name == "sqlite"
    for column in columns:
        text = _as_text(session, column)
        for word in words:
            if is_phone(word):
                tests.append(_without_separators(text).like(_like(national_digits(word)), "\\"))
            else:
                tests.append(text.like(_like(word), "\\"))
            if isinstance(column.type, LargeBinary) and is_sqlite:
                # CAST stops at a NUL byte: a binary file is searched byte for byte as well.
                tests.append(func.instr(column, word.encode()) > 0)
    return or_(*tests)


def sweep(session: Session, words: set[str], own_tickets: set[int]) -> Swept:
    """Take `words` (an address, phone forms, a full name) out of every row; in the caller's
    transaction. `own_tickets` (the person's, erased whole already) need no follow-up."""
    swept = Swept()
    redactor = Redactor(words, everyone=False)
    phones = {national_digits(w) for w in words if is_phone(w)}
    searched = sorted({w for w in words if not is_phone(w)} | {f"0{p}" for p in phones})
    dirty_tickets: set[int] = set()
    for table in Base.metadata.sorted_tables:
        if table.name in SKIPPED:
            continue
        columns = _searchable(session, table)
        if not columns:
            continue
        where = candidates(session, table, columns, searched)
        if table.name in CONFIGURATION:
            count = session.scalar(select(func.count()).select_from(table).where(where))
            if count:
                swept.configuration[table.name] = int(count)
            continue
        for row in session.execute(select(table).where(where)).mappings().all():
            if _rewrite(session, table, columns, dict(row), redactor, swept):
                swept.changed[table.name] = swept.changed.get(table.name, 0) + 1
                if row.get("ticket_id") is not None:
                    dirty_tickets.add(row["ticket_id"])
                if table.name == "tickets":
                    dirty_tickets.add(row["id"])
    _follow_up(session, dirty_tickets - own_tickets, swept)
    return swept


def _rewrite(
    session: Session,
    table: Table,
    columns: list[Any],
    row: dict[str, Any],
    redactor: Redactor,
    swept: Swept,
) -> bool:
    """Redact one row; a file column that names the person (or whose row did) goes."""
    values: dict[str, Any] = {}
    files = []
    for column in columns:
        value = row[column.name]
        if value is None:
            continue
        if isinstance(column.type, LargeBinary):
            files.append(column)
            if redactor.mentions(bytes(value).decode("latin-1")):
                values[column.name] = None
            continue
        new = redactor.json(value) if isinstance(column.type, JSON) else redactor.text(value)
        if new != value:
            values[column.name] = new
    if not values:
        return False
    for column in files:  # the rendered or original form of text that just changed
        if row[column.name] is not None:
            values[column.name] = None
    key = [c == row[c.name] for c in table.primary_key.columns]
    if any(values.get(c.name, 0) is None and not c.nullable for c in files):
        session.execute(sql_delete(table).where(*key))  # an attachment: it is its data
    else:
        if table.name == "solutions":
            values["updated_at"] = utcnow()  # every daemon's similarity index re-reads it
        session.execute(sql_update(table).where(*key).values(**values))
    if table.name == "outbox":
        swept.outbox_ids.append(int(row["id"]))
    return True


def _follow_up(session: Session, ticket_ids: set[int], swept: Swept) -> None:
    """Tickets whose text changed: their raw originals held the same words, and their
    knowledge-base rows are read again by every index."""
    if not ticket_ids:
        return
    table = Base.metadata.tables["inbound_messages"]
    raw = session.execute(
        sql_update(table)
        .where(table.c.ticket_id.in_(ticket_ids), table.c.raw.is_not(None))
        .values(raw=None)
    )
    if getattr(raw, "rowcount", 0):
        swept.changed["inbound_messages"] = swept.changed.get("inbound_messages", 0) + int(
            getattr(raw, "rowcount", 0)
        )
    solutions = Base.metadata.tables["solutions"]
    session.execute(
        sql_update(solutions)
        .where(solutions.c.ticket_id.in_(ticket_ids))
        .values(updated_at=utcnow())
    )
