"""Email delivery: to the smarthost over SMTP, or into var/outbox/*.eml when there is none."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import smtplib
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from tiket.errors import PermanentError, TemporaryError
from tiket.model import OutboxMessage

log = logging.getLogger(__name__)


class EmailSender(Protocol):
    def send(self, row: OutboxMessage) -> str | None:
        """Deliver one message; raise TemporaryError or PermanentError when it cannot be."""
        ...

    def close(self) -> None: ...


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _send_tail(sock: socket.socket, tail: bytes) -> None:
    sock.sendall(tail)


class _SMTP(smtplib.SMTP):
    """smtplib's client, letting its user send a message's final dot itself.

    Once the kernel has the dot, the smarthost gets the whole message even if we die before
    its answer arrives (the kernel still sends what was written), and it commits on the dot:
    the deliverer journals the message as sent in the same instant (`Journal.sent_with`).
    """

    hand_over: Callable[[socket.socket, bytes], None] = staticmethod(_send_tail)

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        data = _LEADING_DOT.sub(b"..", bytes(msg))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        self.send(data)
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        try:
            self.hand_over(self.sock, b".\r\n")
        except OSError as exc:
            self.close()
            raise smtplib.SMTPServerDisconnected(f"server not connected: {exc}") from exc
        return self.getreply()


class SmtpSender:
    """One SMTP connection reused across a batch; reopened when the smarthost drops it."""

    def __init__(self, host: str, port: int, *, envelope_from: str, timeout: float) -> None:
        self.host = host
        self.port = port
        self.envelope_from = envelope_from
        self.timeout = timeout
        self._smtp: _SMTP | None = None
        # Sends a row's final dot (with its id, the socket and the dot): the deliverer journals
        # the row as sent in the same instant (see `_SMTP`).
        self.hand_over: Callable[[int, socket.socket, bytes], None] = lambda row_id, sock, tail: (
            _send_tail(sock, tail)
        )

    def _connection(self) -> _SMTP:
        if self._smtp is None:
            smtp = _SMTP(self.host, self.port, timeout=self.timeout, local_hostname="tiket")
            if smtp.sock is not None and smtp.sock.family in (socket.AF_INET, socket.AF_INET6):
                # The final dot goes in a write of its own: with Nagle's algorithm it would wait
                # for the ACK of the data before it, which the smarthost delays (~40 ms a mail).
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            self._smtp = smtp
        return self._smtp

    def send(self, row: OutboxMessage) -> str | None:
        assert row.payload is not None
        for attempt in (1, 2):
            try:
                smtp = self._connection()
                smtp.hand_over = lambda sock, tail: self.hand_over(row.id, sock, tail)
                smtp.sendmail(self.envelope_from, [row.recipient], row.payload)
                return None
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                if attempt == 2:
                    raise TemporaryError(f"smarthost disconnected: {exc}") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise _by_code(code, text) from exc
            except smtplib.SMTPResponseException as exc:
                self.close()
                raise _by_code(exc.smtp_code, exc.smtp_error) from exc
            except (TimeoutError, OSError, smtplib.SMTPException) as exc:
                self.close()
                raise TemporaryError(f"smarthost {self.host}:{self.port}: {exc}") from exc
        return None

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


def _by_code(code: int, text: bytes | str) -> TemporaryError | PermanentError:
    message = text.decode(errors="replace") if isinstance(text, bytes) else text
    if 500 <= code < 600:
        return PermanentError(f"smarthost refused: {code} {message}")
    return TemporaryError(f"smarthost deferred: {code} {message}")


class FileSender:
    """Writes each message as an .eml file: the embedded default, and a record of what went out."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, row: OutboxMessage) -> str | None:
        assert row.payload is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{row.id:08d}-{row.kind}.eml"
        temporary = final.with_suffix(".tmp")
        try:
            with open(temporary, "wb") as out:
                out.write(row.payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        except OSError as exc:
            raise TemporaryError(f"cannot write {final}: {exc}") from exc
        log.info("action=written outbox=%d file=%s to=%s", row.id, final, row.recipient)
        return final.name

    def close(self) -> None:
        pass
