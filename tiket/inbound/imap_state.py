"""The persisted state of each watched mailbox, for `tiket status` in another process."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tiket.config import ImapSettings
from tiket.model import InboundMessage, MailboxState, utcnow
from tiket.model.db import Database

DAEMON = f"{socket.gethostname()}:{os.getpid()}"
ERROR_LENGTH = 1000


class MailboxStates:
    """Writes one mailbox's row; every method is one short transaction."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name

    def register(self) -> None:
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        with self.db.session() as session:
            session.execute(
                insert(MailboxState)
                .values(name=self.name, updated_at=utcnow())
                .on_conflict_do_nothing(index_elements=["name"])
            )

    def connected(self, *, mode: str, uidvalidity: int) -> int | None:
        """Record a new session; returns the UIDVALIDITY seen by the previous one."""
        with self.db.session() as session:
            before = session.scalar(
                select(MailboxState.uidvalidity).where(MailboxState.name == self.name)
            )
            self._update(session, connected=True, mode=mode, uidvalidity=uidvalidity)
        return before

    def succeeded(self, *, warning: str | None = None) -> None:
        """A round went well (the last error stays shown, with its time)."""
        with self.db.session() as session:
            self._update(session, connected=True, last_success_at=utcnow(), warning=warning)

    def failed(self, error: str) -> None:
        with self.db.session() as session:
            self._update(
                session, connected=False, last_error=error[:ERROR_LENGTH], last_error_at=utcnow()
            )

    def disconnected(self) -> None:
        with self.db.session() as session:
            self._update(session, connected=False)

    def _update(self, session: Any, **values: Any) -> None:
        session.execute(
            update(MailboxState)
            .where(MailboxState.name == self.name)
            .values(**values, daemon=DAEMON, updated_at=utcnow())
        )


@dataclass(frozen=True)
class MailboxStatus:
    """One configured mailbox as `tiket status` shows it."""

    name: str
    server: str
    folder: str
    connected: bool
    mode: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    warning: str | None
    taken_today: int
    daemon: str
    seen: bool  # a daemon has ever written this mailbox's row

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "server": self.server,
            "folder": self.folder,
            "connected": self.connected,
            "mode": self.mode,
            "last_success_at": _iso(self.last_success_at),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "warning": self.warning,
            "taken_today": self.taken_today,
            "daemon": self.daemon,
            "seen": self.seen,
        }


def source(name: str) -> str:
    """The `source` of the inbound rows a mailbox makes."""
    return f"imap:{name}"[:200]


def mailbox_statuses(
    db: Database, mailboxes: Sequence[ImapSettings], now: datetime | None = None
) -> list[MailboxStatus]:
    """The state of every configured mailbox, in configuration order."""
    midnight = (now or datetime.now().astimezone()).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    with db.session() as session:
        rows = {row.name: row for row in session.scalars(select(MailboxState))}
        counted = session.execute(
            select(InboundMessage.source, func.count())
            .where(InboundMessage.source.in_([source(m.name) for m in mailboxes]))
            .where(InboundMessage.received_at >= midnight.astimezone(UTC))
            .group_by(InboundMessage.source)
        ).all()
        taken = {str(origin): int(count) for origin, count in counted}
    result = []
    for mailbox in mailboxes:
        row = rows.get(mailbox.name)
        port = mailbox.port or (993 if mailbox.tls == "ssl" else 143)
        result.append(
            MailboxStatus(
                name=mailbox.name,
                server=f"{mailbox.host}:{port}",
                folder=mailbox.folder,
                connected=bool(row and row.connected),
                mode=row.mode if row else "",
                last_success_at=row.last_success_at if row else None,
                last_error=row.last_error if row else None,
                last_error_at=row.last_error_at if row else None,
                warning=row.warning if row else None,
                taken_today=int(taken.get(source(mailbox.name), 0)),
                daemon=row.daemon if row else "",
                seen=row is not None,
            )
        )
    return result


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
