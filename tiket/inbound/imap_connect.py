"""Opening an authenticated IMAP connection for one `[[imap]]` mailbox, and naming its faults."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

from imapclient import IMAPClient
from imapclient import exceptions as imap_errors

from tiket.config import ImapSettings
from tiket.errors import TemporaryError

COMMAND_TIMEOUT = 30.0
TOKEN_COMMAND_TIMEOUT = 30.0
LOGOUT_TIMEOUT = 2.0
# A dead peer (NAT state dropped, cable pulled) is noticed by the kernel within ~90 s.
KEEPALIVE = {"TCP_KEEPIDLE": 60, "TCP_KEEPINTVL": 10, "TCP_KEEPCNT": 3}


class ImapError(TemporaryError):
    """The IMAP mailbox cannot be used right now."""


class ImapUnreachable(ImapError):
    """The IMAP server cannot be reached."""


class ImapLoginRefused(ImapError):
    """The IMAP server refused the login."""


class ImapCredentialsError(ImapError):
    """The password file or the token command gave no usable secret."""


class ImapConnectionLost(ImapError):
    """The connection to the IMAP server was lost."""


class ImapTimeout(ImapError):
    """The IMAP server stopped answering."""


class ImapMailboxFull(ImapError):
    """The mailbox is over its quota."""


class ImapRefused(ImapError):
    """The IMAP server refused a command."""


def address(mailbox: ImapSettings) -> tuple[str, int]:
    return mailbox.host, mailbox.port or (993 if mailbox.tls == "ssl" else 143)


def connect(mailbox: ImapSettings, timeout: float = COMMAND_TIMEOUT) -> IMAPClient:
    """A logged-in client; raises an ImapError subclass whose message says what to fix."""
    library = logging.getLogger("imapclient")
    if library.level == logging.NOTSET:  # it logs every closed connection at INFO
        library.setLevel(logging.WARNING)
    host, port = address(mailbox)
    context = ssl.create_default_context()
    with translated(mailbox, "connect"):
        client = IMAPClient(
            host,
            port,
            ssl=mailbox.tls == "ssl",
            ssl_context=context if mailbox.tls == "ssl" else None,
            timeout=timeout,
        )
    try:
        _keepalive(client)
        with translated(mailbox, "login"):
            if mailbox.tls == "starttls":
                client.starttls(context)
            if mailbox.oauth2_token_command:
                client.oauth2_login(mailbox.user, oauth2_token(mailbox))
            else:
                client.login(mailbox.user, password(mailbox))
    except BaseException:
        close(client, logout=False)
        raise
    return client


def close(client: IMAPClient, *, logout: bool) -> None:
    """Log out politely when the connection is healthy; otherwise just drop it."""
    with contextlib.suppress(Exception):
        if logout:
            client.socket().settimeout(LOGOUT_TIMEOUT)  # a stop must not wait on a slow server
            client.logout()
            return
    with contextlib.suppress(Exception):
        client.shutdown()


def password(mailbox: ImapSettings) -> str:
    if mailbox.password or not mailbox.password_file:
        return mailbox.password
    try:
        return Path(mailbox.password_file).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ImapCredentialsError(
            f"imap.{mailbox.name}: cannot read password_file {mailbox.password_file}: "
            f"{exc.strerror}"
        ) from None


def oauth2_token(mailbox: ImapSettings) -> str:
    """Run `oauth2_token_command` (a shell command line) and take its output as the token."""
    name = f"imap.{mailbox.name}.oauth2_token_command"
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", mailbox.oauth2_token_command],
            capture_output=True,
            text=True,
            timeout=TOKEN_COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ImapCredentialsError(
            f"{name} gave no token within {TOKEN_COMMAND_TIMEOUT:.0f} s"
        ) from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [""])[-1]
        raise ImapCredentialsError(f"{name} exited with status {done.returncode}: {detail}")
    token = done.stdout.strip()
    if not token:
        raise ImapCredentialsError(f"{name} printed no token")
    return token


@contextlib.contextmanager
def translated(mailbox: ImapSettings, doing: str) -> Iterator[None]:
    """Turn socket, TLS and IMAP exceptions into ImapError subclasses with a sentence to act on."""
    host, port = address(mailbox)
    where = f"{host}:{port}"
    try:
        yield
    except ImapError:
        raise
    except imap_errors.LoginError as exc:
        raise ImapLoginRefused(
            f"{where} refused the login of {mailbox.user!r}: {_server_text(exc)}; "
            "check user and password (or the token command)"
        ) from None
    except TimeoutError:
        raise ImapTimeout(f"{where} did not answer ({doing}) in time") from None
    except ConnectionRefusedError:
        raise ImapUnreachable(
            f"{where} refused the connection: is the IMAP server running, and the port right?"
        ) from None
    except socket.gaierror as exc:
        raise ImapUnreachable(f"cannot resolve {host!r}: {exc.strerror}") from None
    except ssl.SSLCertVerificationError as exc:
        raise ImapUnreachable(
            f"{where} has a TLS certificate we do not trust: {exc.verify_message}"
        ) from None
    except ssl.SSLError as exc:
        raise ImapUnreachable(
            f"TLS with {where} failed ({exc.reason}): is tls right? "
            "(ssl usually on 993, starttls on 143)"
        ) from None
    except imap_errors.IMAPClientAbortError as exc:
        raise ImapConnectionLost(f"{where} closed the connection ({doing}): {exc}") from None
    except (ConnectionError, EOFError) as exc:
        if doing == "connect":
            raise ImapUnreachable(f"{where} dropped the connection at once: {exc}") from None
        raise ImapConnectionLost(f"connection to {where} lost ({doing}): {exc}") from None
    except imap_errors.CapabilityError as exc:
        raise ImapRefused(f"{where} cannot {doing}: {exc}") from None
    except imap_errors.IMAPClientError as exc:
        text = _server_text(exc)
        if "OVERQUOTA" in text.upper():
            raise ImapMailboxFull(
                f"{where}: the mailbox is over its quota ({doing}): {text}"
            ) from None
        raise ImapRefused(f"{where} refused {doing}: {text}") from None
    except OSError as exc:
        raise ImapUnreachable(f"cannot talk to {where} ({doing}): {exc}") from None


def _server_text(exc: Exception) -> str:
    text = str(exc)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return text


def _keepalive(client: IMAPClient) -> None:
    sock = client.socket()
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in KEEPALIVE.items():
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
