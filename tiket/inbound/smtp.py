"""The SMTP and LMTP listeners: a message is answered 250 only once it is committed.

Hostile input, and what the listener does with it (tests/integration/test_hostile_mail.py):

* SMTP smuggling: DATA ends only at CRLF "." CRLF (aiosmtpd >= 1.4.5, CVE-2024-27305). Bare LF
  or CR, and "." lines ending in them (``\n.\n``, ``\r.\r``, ``\n.\r\n``, ``\r\n.\n``), are
  data: kept byte for byte in the one stored message, never a second transaction. We neither
  refuse bare newlines (Postfix's ``smtpd_forbid_bare_newline``; that would bounce mail from
  broken but honest clients) nor rewrite them (the stored original stays what was sent): nothing
  can be smuggled through here either way, and we never relay the raw bytes onward.
* A line longer than LINE_LIMIT: the whole message is refused with a 500 after its DATA, and
  the session goes on. A client that ends every line with a bare LF sends one "line" per
  message, so such a message is limited to LINE_LIMIT bytes.
* DATA is collected into one buffer (inbound/smtp_data.py), with aiosmtpd's own rules.
* A reverse-path or recipient longer than RFC 5321's 256-octet path is refused at MAIL/RCPT.
"""

from __future__ import annotations

import logging
from typing import Any, AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from tiket.errors import TemporaryError
from tiket.inbound.smtp_data import OneBufferData
from tiket.inbound.store import Arrival, GroupCommit, mail_key

log = logging.getLogger(__name__)

# RFC 5321 allows 1000 octets a line; real mail (and our fuzzers) send longer ones, and refusing
# the whole message for it would lose it. Accept, then parse what we can.
LINE_LIMIT = 1 << 20
# RFC 5321 4.5.3.1.3: a path is at most 256 octets with its angle brackets.
MAX_ADDRESS = 254


class Handler:
    """aiosmtpd hooks: the return value is the protocol reply."""

    def __init__(self, committer: GroupCommit, domains: tuple[str, ...], *, lmtp: bool) -> None:
        self.committer = committer
        self.domains = tuple(d.lower() for d in domains)
        self.lmtp = lmtp

    def accepts(self, address: str) -> bool:
        domain = address.strip("<>").rpartition("@")[2].lower()
        return domain in self.domains

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(address) > MAX_ADDRESS:
            return "501 5.1.7 Sender address too long: at most 254 characters (RFC 5321)"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(address) > MAX_ADDRESS:
            return "501 5.1.3 Recipient address too long: at most 254 characters (RFC 5321)"
        if not self.accepts(address):
            log.info("action=rcpt_refused peer=%s rcpt=%s", session.peer, address)
            return "550 5.7.1 Relaying denied: we accept mail only for our own domains"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        assert isinstance(raw, bytes)
        arrival = Arrival(
            raw=raw,
            channel="email",
            idempotency_key=mail_key(raw),
            source="lmtp" if self.lmtp else "smtp",
            envelope_from=str(envelope.mail_from or ""),
            envelope_to=tuple(envelope.rcpt_tos),
            meta={"peer": str(session.peer[0]) if session.peer else ""},
        )
        try:
            accepted = await self.committer.submit(arrival)
        except TemporaryError as exc:
            log.warning("action=data_tempfail peer=%s error=%s", session.peer, exc)
            return self._each_rcpt(envelope, "451 4.3.0 Temporary failure, please try again later")
        log.info(
            "action=accepted inbound=%d duplicate=%s size=%d",
            accepted.id,
            accepted.duplicate,
            len(raw),
        )
        return self._each_rcpt(envelope, f"250 2.0.0 OK queued as {accepted.id}")

    def _each_rcpt(self, envelope: Envelope, reply: str) -> str:
        # LMTP answers once per recipient; SMTP once per message.
        if not self.lmtp:
            return reply
        return "\r\n".join(reply for _ in envelope.rcpt_tos)


# aiosmtpd's own reply names neither the limit nor an enhanced status code.
_LINE_TOO_LONG = (
    f"500 5.5.2 Line too long: a line of this message is over {LINE_LIMIT} bytes,"
    " the message was not accepted"
)


class _Listener(OneBufferData):
    line_length_limit = LINE_LIMIT

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith("500 Line too long"):
            await super().push(_LINE_TOO_LONG)
        else:
            await super().push(status)


class TiketSMTP(_Listener):
    pass


class TiketLMTP(_Listener, LMTP):
    pass


def server_factory(handler: Handler, *, hostname: str, max_bytes: int) -> Any:
    cls = TiketLMTP if handler.lmtp else TiketSMTP

    def factory() -> SMTP:
        return cls(
            handler,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="tiket ESMTP",
        )

    return factory
