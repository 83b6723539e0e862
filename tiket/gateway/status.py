"""What `tiket status` reports: the database, the size of each queue, and every IMAP mailbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from tiket.config import Settings
from tiket.errors import DatabaseUnavailable
from tiket.inbound.imap_state import MailboxStatus, mailbox_statuses
from tiket.model import InboundMessage, OutboxMessage, utcnow
from tiket.model.db import Database
from tiket.model.migrate import is_current


@dataclass(frozen=True)
class Status:
    database: str
    reachable: bool
    error: str | None = None
    schema_current: bool = False
    inbound: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    mailboxes: list[MailboxStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Everything a monitoring script cares about: reachable, current, mailboxes connected."""
        return (
            self.reachable
            and self.schema_current
            and all(mailbox.connected for mailbox in self.mailboxes)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": {
                "url": self.database,
                "reachable": self.reachable,
                "error": self.error,
                "schema_current": self.schema_current,
            },
            "inbound": self.inbound,
            "outbox": self.outbox,
            "mailboxes": [mailbox.as_dict() for mailbox in self.mailboxes],
            "healthy": self.healthy,
        }

    def lines(self, now: datetime | None = None) -> list[str]:
        now = now or utcnow()
        if not self.reachable:
            return [f"database  UNREACHABLE  {self.database}: {self.error}"]
        schema = "schema current" if self.schema_current else "schema OLD: run `tiket init`"
        lines = [
            f"database  ok  {self.database}  {schema}",
            f"inbound   {_counts(self.inbound)}",
            f"outbox    {_counts(self.outbox)}",
        ]
        for mailbox in self.mailboxes:
            lines.extend(_mailbox_lines(mailbox, now))
        if not self.mailboxes:
            lines.append("mailboxes none configured ([[imap]])")
        return lines


def gather(settings: Settings, db: Database) -> Status:
    migrations = logging.getLogger("alembic")
    if migrations.level == logging.NOTSET:  # it tells of its context at INFO on every check
        migrations.setLevel(logging.WARNING)
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        db.check()
        current = is_current(db)
        with db.session() as session:
            inbound = _by_state(session, InboundMessage.state)
            outbox = _by_state(session, OutboxMessage.state)
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        return Status(database=url, reachable=False, error=str(exc).splitlines()[0])
    try:
        mailboxes = mailbox_statuses(db, settings.imap)
    except SQLAlchemyError:  # the state table is missing until `tiket init` upgrades
        mailboxes = []
    return Status(
        database=url,
        reachable=True,
        schema_current=current,
        inbound=inbound,
        outbox=outbox,
        mailboxes=mailboxes,
    )


def _by_state(session: Any, column: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column)).all()
    return {str(state): int(count) for state, count in sorted(rows)}


def _counts(counts: dict[str, int]) -> str:
    return "  ".join(f"{state} {count:,}" for state, count in counts.items()) or "empty"


def _mailbox_lines(mailbox: MailboxStatus, now: datetime) -> list[str]:
    if not mailbox.seen:
        state = "never started (is `tiket serve` running?)"
    elif mailbox.connected:
        state = f"connected ({mailbox.mode})"
    else:
        state = "NOT connected"
    success = (
        f"last success {_ago(mailbox.last_success_at, now)}"
        if mailbox.last_success_at
        else "no success yet"
    )
    lines = [
        f"mailbox   {mailbox.name}  {state}  {mailbox.server} {mailbox.folder}  "
        f"taken today {mailbox.taken_today:,}  {success}"
    ]
    if mailbox.last_error and mailbox.last_error_at:
        when = _ago(mailbox.last_error_at, now)
        lines.append(f"          last error {when}: {mailbox.last_error}")
    if mailbox.warning:
        lines.append(f"          warning: {mailbox.warning}")
    return lines


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 120:
        span = f"{seconds} s"
    elif seconds < 7200:
        span = f"{seconds // 60} min"
    elif seconds < 172800:
        span = f"{seconds // 3600} h"
    else:
        span = f"{seconds // 86400} days"
    return f"{when:%Y-%m-%d %H:%M:%S} UTC ({span} ago)"
