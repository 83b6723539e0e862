"""How one mailbox is laid out on its server: where mail waits, and how taken mail is put away."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient import exceptions as imap_errors

from tiket.config import ImapSettings
from tiket.inbound.imap_connect import ImapRefused, translated

log = logging.getLogger(__name__)

# Where MOVE is missing, taken mail stays in the folder with this keyword (and \Seen).
TAKEN_KEYWORD = b"$TiketTaken"
# From this share of its quota on, a mailbox is reported as (almost) full.
FULL_RATIO = 0.95


@dataclass(frozen=True)
class Layout:
    folder: str  # the server's name of the watched folder
    processed: str  # the server's name of the processed folder
    idle: bool  # the server offers IDLE
    move: bool  # taken mail is moved; otherwise it is flagged in place
    keywords: bool  # the folder accepts our own keyword
    uidvalidity: int

    @property
    def waiting(self) -> list[bytes]:
        """SEARCH criteria for mail not yet taken."""
        if self.move:
            return [b"NOT", b"DELETED"]
        if self.keywords:
            return [b"NOT", b"DELETED", b"NOT", b"KEYWORD", TAKEN_KEYWORD]
        return [b"NOT", b"DELETED", b"UNSEEN"]

    @property
    def finish_mode(self) -> str:
        return "move" if self.move else "flag"


def server_name(client: IMAPClient, configured: str) -> str:
    """A configured name ("tiket/processed": "/" separates levels) in the server's own spelling."""
    if configured.upper() == "INBOX":
        return "INBOX"
    prefix, delimiter = "", "/"
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = personal[0][0], personal[0][1] or "/"
    else:
        listed = client.list_folders("", "INBOX")
        if listed and listed[0][1]:
            delimiter = _text(listed[0][1])
    name = delimiter.join(configured.split("/"))
    return name if name.startswith(prefix) else prefix + name


def prepare(client: IMAPClient, mailbox: ImapSettings) -> Layout:
    """Select the watched folder (creating the processed folder where we move) and describe it."""
    with translated(mailbox, "list folders"):
        folder = server_name(client, mailbox.folder)
        processed = server_name(client, mailbox.processed_folder)
    if folder == processed:
        raise ImapRefused(f"imap.{mailbox.name}: processed_folder must differ from folder")
    move = client.has_capability("MOVE")
    if move:
        ensure_folder(client, mailbox, processed)
    with translated(mailbox, f"select {folder}"):
        selected: dict[bytes, Any] = client.select_folder(folder)
    flags = {bytes(f) for f in selected.get(b"PERMANENTFLAGS", ())}
    return Layout(
        folder=folder,
        processed=processed,
        idle=client.has_capability("IDLE"),
        move=move,
        keywords=b"\\*" in flags,
        uidvalidity=int(selected[b"UIDVALIDITY"]),
    )


def ensure_folder(client: IMAPClient, mailbox: ImapSettings, name: str) -> None:
    with translated(mailbox, f"create {name}"):
        if client.folder_exists(name):
            return
        try:
            client.create_folder(name)
        except imap_errors.IMAPClientError as exc:
            # Another daemon on the same mailbox may have just created it.
            if not client.folder_exists(name):
                raise exc from None
        log.info("action=imap_folder_created mailbox=%s folder=%s", mailbox.name, name)


def put_away(
    client: IMAPClient, mailbox: ImapSettings, layout: Layout, uids: Sequence[int]
) -> None:
    """Move (or flag) committed mail so that no later search finds it again."""
    if not uids:
        return
    if not layout.move:
        flags = [b"\\Seen", TAKEN_KEYWORD] if layout.keywords else [b"\\Seen"]
        with translated(mailbox, f"flag taken mail in {layout.folder}"):
            client.add_flags(uids, flags, silent=True)
        return
    try:
        with translated(mailbox, f"move taken mail to {layout.processed}"):
            client.move(uids, layout.processed)
    except ImapRefused as exc:
        if "TRYCREATE" not in str(exc).upper():
            raise
        # Someone deleted the processed folder under us: create it again and retry once.
        ensure_folder(client, mailbox, layout.processed)
        with translated(mailbox, f"move taken mail to {layout.processed}"):
            client.move(uids, layout.processed)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def quota_warning(client: IMAPClient, mailbox: ImapSettings, layout: Layout) -> str | None:
    """A sentence when the mailbox is (nearly) full: its server then refuses new mail."""
    if not client.has_capability("QUOTA"):
        return None
    with translated(mailbox, "read the quota"):
        _, quotas = client.get_quota_root(layout.folder)
    for quota in quotas:
        if not quota.limit:
            continue
        used = quota.usage / quota.limit
        if used >= FULL_RATIO:
            state = "full" if quota.usage >= quota.limit else "almost full"
            return (
                f"the mailbox is {state} ({quota.resource} {quota.usage} of {quota.limit}): "
                f"its server will refuse new mail; empty {layout.processed} or raise the quota"
            )
    return None
