"""Email delivery: to the smarthost over SMTP, or into var/outbox/*.eml when there is none."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import smtplib
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


class _SMTP(smtplib.SMTP):
    """smtplib's client, telling when a message's data is wholly handed to the kernel.

    From that instant the smarthost gets the whole message even if we die before its answer
    arrives (the kernel still sends what was written), and it commits on the final dot.
    """

    handed_over: Callable[[], None] = staticmethod(lambda: None)

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        data = _LEADING_DOT.sub(b"..", bytes(msg))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        self.send(data + b".\r\n")
        self.handed_over()
        return self.getreply()


class SmtpSender:
    """One SMTP connection reused across a batch; reopened when the smarthost drops it."""

    def __init__(self, host: str, port: int, *, envelope_from: str, timeout: float) -> None:
        self.host = host
        self.port = port
        self.envelope_from = envelope_from
        self.timeout = timeout
        self._smtp: _SMTP | None = None
        # Called with the row's id once its data is with the kernel, before the smarthost's
        # answer: the deliverer journals the row as sent there (see `_SMTP`).
        self.on_handed_over: Callable[[int], None] = lambda row_id: None

    def _connection(self) -> _SMTP:
        if self._smtp is None:
            smtp = _SMTP(self.host, self.port, timeout=self.timeout, local_hostname="tiket")
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
                smtp.handed_over = lambda: self.on_handed_over(row.id)
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
