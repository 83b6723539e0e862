"""The deliverer's journal: the outbox rows it claimed, and those the smarthost accepted.

The database cannot be written at the instant the smarthost answers 250: the commit waits for
the SQLite writer (busy processing), or for a PostgreSQL that has just gone away, and a crash
in that gap sends the answer again once the lease runs out. One fsync'd line in a local file
narrows the gap to that fsync. The claims let a restarted daemon put back at once the rows it
had taken but not sent, instead of leaving them to the lease.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tiket.model import OutboxMessage
from tiket.outbound.handover import send_then_write
from tiket.outbound.outbox import Claim

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """What an earlier round left unfinished: rows sent, and rows claimed (id → claim)."""

    sent: frozenset[int] = frozenset()
    claimed: dict[int, Claim] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.sent or self.claimed)


class Journal:
    """An append-only file of `c <id> <attempts> <stamp>`, `s <id>` and `r <id>` lines
    (claimed, sent, refused after all), emptied after each round.

    Claims are written before they commit (`outbox.claim`'s `before_commit`): a line may name
    a claim that never committed, and its stamp (the claim's `next_attempt_at`) keeps it from
    matching a later claim of the same row by another worker with the same attempts.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._dirty = True  # what a previous process left is unknown until read

    def claimed(self, rows: Sequence[OutboxMessage]) -> None:
        if rows:
            lines = (
                f"c {row.id} {row.attempts} {row.next_attempt_at.isoformat()}\n" for row in rows
            )
            self._write("".join(lines))

    def sent(self, row_id: int) -> None:
        self._write(f"s {row_id}\n")

    def sent_with(self, row_id: int, sock: socket.socket, tail: bytes) -> None:
        """Send a message's last bytes (its final dot) on `sock` and journal the row as sent in
        the same instant (see `handover`). An OSError from the socket propagates, with no
        `sent` line left standing."""
        line = f"s {row_id}\n".encode("ascii")
        self._dirty = True
        try:
            fd = self._open()
        except OSError as exc:
            self._failed(exc)
            sock.sendall(tail)
            return
        sent, written = send_then_write(sock, tail, fd, line)
        if sent < len(tail):  # the socket had no room after all, or is broken
            if written > 0:
                self.refused(row_id)
            sock.sendall(tail[max(sent, 0) :])
            self.sent(row_id)
        elif written != len(line):
            self._failed(os.strerror(ctypes.get_errno()) if written < 0 else "short write")
        else:
            self._sync(fd)

    def refused(self, row_id: int) -> None:
        """Take back `sent`: the smarthost answered the handed-over message with an error."""
        self._write(f"r {row_id}\n")

    def pending(self) -> Pending:
        if not self._dirty:
            return Pending()
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return Pending()
        sent: set[int] = set()
        claimed: dict[int, Claim] = {}
        for line in text.splitlines():  # a torn last line does not parse and is skipped
            parts = line.split()
            if len(parts) == 2 and parts[0] == "s" and parts[1].isdigit():
                sent.add(int(parts[1]))
            elif len(parts) == 2 and parts[0] == "r" and parts[1].isdigit():
                sent.discard(int(parts[1]))
            elif len(parts) in (3, 4) and parts[0] == "c" and parts[1].isdigit():
                claim = _claim(parts[2:])
                if claim is not None:
                    claimed[int(parts[1])] = claim
        return Pending(frozenset(sent), claimed)

    def clear(self) -> None:
        try:
            os.ftruncate(self._open(), 0)
            self._dirty = False
        except OSError as exc:
            self._failed(exc)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def _write(self, text: str) -> None:
        # A journal that cannot be written (disk full) costs only the narrowing: the database
        # mark that follows still decides, so delivery goes on.
        self._dirty = True
        try:
            fd = self._open()
            os.write(fd, text.encode("ascii"))
        except OSError as exc:
            self._failed(exc)
            return
        self._sync(fd)

    def _sync(self, fd: int) -> None:
        try:
            os.fdatasync(fd)
        except OSError as exc:
            self._failed(exc)

    def _failed(self, error: object) -> None:
        log.warning("action=journal_failed path=%s error=%s", self.path, error)


def _claim(fields: list[str]) -> Claim | None:
    """`<attempts> [<stamp>]`, or None for what does not parse (a torn line)."""
    if not fields[0].isdigit():
        return None
    if len(fields) == 1:
        return Claim(int(fields[0]))
    try:
        at = datetime.fromisoformat(fields[1])
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return Claim(int(fields[0]), at)
