"""`tiket mailboxes test`: log in to one mailbox, look around without changing anything, report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tiket.config import ImapSettings, Settings
from tiket.errors import ConfigError
from tiket.inbound.imap_connect import ImapRefused, address, close, connect, translated
from tiket.inbound.imap_folders import Layout, server_name

CHECK_TIMEOUT = 15.0


@dataclass(frozen=True)
class MailboxCheck:
    """What a successful check found."""

    name: str
    server: str
    user: str
    tls: str
    idle: bool
    move: bool
    folders: tuple[str, ...]
    folder: str
    waiting: int
    processed_folder: str
    processed_exists: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "server": self.server,
            "user": self.user,
            "tls": self.tls,
            "idle": self.idle,
            "move": self.move,
            "folders": list(self.folders),
            "folder": self.folder,
            "waiting": self.waiting,
            "processed_folder": self.processed_folder,
            "processed_exists": self.processed_exists,
        }

    def lines(self) -> list[str]:
        """The human report, one fact a line."""
        watch = "IDLE: new mail is seen at once" if self.idle else "no IDLE: polled"
        finish = (
            f"MOVE: taken mail goes to {self.processed_folder}"
            if self.move
            else "no MOVE: taken mail is flagged \\Seen and $TiketTaken where it is"
        )
        processed = "exists" if self.processed_exists else "will be created on the first run"
        lines = [
            f"mailbox {self.name}: logged in to {self.server} as {self.user} (tls {self.tls})",
            f"server: {watch}; {finish}",
            f"folders: {', '.join(self.folders)}",
            f"waiting in {self.folder}: {self.waiting} message{'' if self.waiting == 1 else 's'}",
        ]
        if self.move:
            lines.append(f"processed folder {self.processed_folder}: {processed}")
        return lines


def mailbox_named(settings: Settings, name: str) -> ImapSettings:
    for mailbox in settings.imap:
        if mailbox.name == name:
            return mailbox
    known = ", ".join(m.name for m in settings.imap) or "none"
    raise ConfigError(f"no [[imap]] mailbox named {name!r} in the configuration (there: {known})")


def check(mailbox: ImapSettings, timeout: float = CHECK_TIMEOUT) -> MailboxCheck:
    """Raises an ImapError whose message says what is wrong (login, folder, network, TLS)."""
    client = connect(mailbox, timeout)
    try:
        with translated(mailbox, "list folders"):
            folders = tuple(str(name) for _, _, name in client.list_folders())
            folder = server_name(client, mailbox.folder)
            processed = server_name(client, mailbox.processed_folder)
        if not _listed(folders, folder):
            raise ImapRefused(
                f"imap.{mailbox.name}: the folder {mailbox.folder!r} ({folder!r} on the server) "
                f"does not exist; the server has: {', '.join(folders)}"
            )
        with translated(mailbox, f"examine {folder}"):
            selected = client.select_folder(folder, readonly=True)
            layout = Layout(
                folder=folder,
                processed=processed,
                idle=client.has_capability("IDLE"),
                move=client.has_capability("MOVE"),
                keywords=True,  # read-only: the server does not say; assume the usual
                uidvalidity=int(selected.get(b"UIDVALIDITY", 0)),
            )
            waiting = len(client.search(layout.waiting))
        host, port = address(mailbox)
        result = MailboxCheck(
            name=mailbox.name,
            server=f"{host}:{port}",
            user=mailbox.user,
            tls=mailbox.tls,
            idle=layout.idle,
            move=layout.move,
            folders=folders,
            folder=folder,
            waiting=waiting,
            processed_folder=processed,
            processed_exists=_listed(folders, processed),
        )
    except BaseException:
        close(client, logout=False)
        raise
    close(client, logout=True)
    return result


def _listed(folders: tuple[str, ...], name: str) -> bool:
    # INBOX is the one name IMAP compares without regard to case.
    inbox = name.upper() == "INBOX"
    return any(f == name or (inbox and f.upper() == "INBOX") for f in folders)
