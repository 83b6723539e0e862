"""The SMTP and LMTP listeners: a message is answered 250 only once it is committed."""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from tiket.errors import TemporaryError
from tiket.inbound.store import Arrival, GroupCommit, mail_key

log = logging.getLogger(__name__)

# RFC 5321 allows 1000 octets a line; real mail (and our fuzzers) send longer ones, and refusing
# the whole message for it would lose it. Accept, then parse what we can.
LINE_LIMIT = 1 << 20


class Handler:
    """aiosmtpd hooks: the return value is the protocol reply."""

    def __init__(self, committer: GroupCommit, domains: tuple[str, ...], *, lmtp: bool) -> None:
        self.committer = committer
        self.domains = tuple(d.lower() for d in domains)
        self.lmtp = lmtp

    def accepts(self, address: str) -> bool:
        domain = address.strip("<>").rpartition("@")[2].lower()
        return domain in self.domains

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
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


class TiketSMTP(SMTP):
    line_length_limit = LINE_LIMIT


class TiketLMTP(LMTP):
    line_length_limit = LINE_LIMIT


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
