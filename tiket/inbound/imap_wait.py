"""Waiting for new mail between rounds: IDLE, checked in short steps, or polling where not."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from imapclient import IMAPClient

from tiket.config import ImapSettings
from tiket.inbound.imap_connect import ImapConnectionLost, translated

IDLE_STEP = 1.0  # idle_check timeout: a stop request is honoured within about this


def poll_after(client: IMAPClient, mailbox: ImapSettings, stop: threading.Event) -> None:
    """Where the server has no IDLE: wait `poll_seconds`, then NOOP (a server tells of new
    mail only in answer to a command)."""
    stop.wait(mailbox.poll_seconds)
    if not stop.is_set():
        with translated(mailbox, "poll"):
            client.noop()


def idle_until_news(
    client: IMAPClient,
    mailbox: ImapSettings,
    renew: float,
    stop: threading.Event,
    timeout: float,
) -> None:
    """IDLE until new mail, a stop request, or `renew` seconds (then the caller searches)."""
    with translated(mailbox, "start IDLE"):
        client.idle()
    if not _buffered(client, timeout):
        _idle(client, mailbox, max(IDLE_STEP, renew), stop)
    with translated(mailbox, "end IDLE"):
        client.idle_done()


def _idle(client: IMAPClient, mailbox: ImapSettings, renew: float, stop: threading.Event) -> None:
    deadline = time.monotonic() + renew
    quick = 0
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        step = min(IDLE_STEP, left)
        started = time.monotonic()
        with translated(mailbox, "IDLE"):
            responses = client.idle_check(timeout=step)
        for response in responses:
            if len(response) > 1 and response[1] == b"EXISTS":
                return
            if response[0] == b"BYE":
                raise ImapConnectionLost(f"{mailbox.host} ended the session: {_text(response[1:])}")
        # imapclient answers an empty list at once when the server has closed the socket.
        if not responses and time.monotonic() - started < step / 4:
            quick += 1
            if quick >= 3:
                raise ImapConnectionLost(f"{mailbox.host} closed the connection")
        else:
            quick = 0


def _buffered(client: IMAPClient, timeout: float) -> bool:
    """True when the server sent more right behind "+ idling" (mail that came before IDLE).

    imaplib reads that into its buffer with the continuation line, where `idle_check`'s poll()
    on the socket cannot see it: the news would wait for the next packet. Peeking the buffer
    (the socket briefly non-blocking, so that an empty buffer does not wait) finds it.
    """
    reader = getattr(client._imap, "file", None)
    if reader is None or not hasattr(reader, "peek"):
        return False
    sock = client.socket()
    sock.setblocking(False)
    try:
        return bool(reader.peek(1))
    except OSError:  # nothing buffered and nothing on the socket (or the TLS layer wants more)
        return False
    finally:
        sock.settimeout(timeout)


def _text(parts: Sequence[Any]) -> str:
    return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in parts)
