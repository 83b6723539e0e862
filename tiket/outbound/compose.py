"""Outgoing mail as bytes: headers that thread, identify us as automatic, and cannot be injected.

Built with the compat32 `Message` and explicit RFC 2047 encoding rather than `EmailMessage`:
the modern policy parses every header we set back into a tree, which cost more than the rest
of composing together (2.7 ms of 4.5 ms an answer). What we write is simple enough to encode
directly, and every value passes `clean_header` first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.policy import compat32
from email.utils import format_datetime, formataddr, getaddresses

from tiket.model.base import utcnow

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_POLICY = compat32.clone(linesep="\r\n", max_line_length=78)
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def clean_header(value: str, limit: int = 300) -> str:
    """One line, no control characters: a subject or name from outside cannot add headers."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def _text(value: str, name: str) -> str | Header:
    """An unstructured header value: as is when ASCII, else RFC 2047 encoded words."""
    if value.isascii():
        return Header(value, header_name=name)
    return Header(value, "utf-8", header_name=name)


def _addresses(value: str) -> str:
    """An address list with any non-ASCII display name encoded."""
    if value.isascii():
        return clean_header(value, 2000)
    pairs = getaddresses([clean_header(value, 2000)])
    return ", ".join(formataddr(pair, charset="utf-8") for pair in pairs)


def compose_email(
    *,
    sender: str,
    sender_name: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    msg: Message[str, str | Header] = Message(policy=_POLICY)
    msg["From"] = formataddr((clean_header(sender_name), sender), charset="utf-8")
    msg["To"] = _addresses(to)
    msg["Subject"] = _text(clean_header(subject, 900), "Subject")
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = clean_header(message_id, 998)
    if reply_to:
        msg["Reply-To"] = _addresses(reply_to)
    if in_reply_to:
        msg["In-Reply-To"] = clean_header(in_reply_to, 998)
    refs = [clean_header(r, 998) for r in references if r][-20:]
    if refs:
        msg["References"] = Header(" ".join(refs), header_name="References")
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
    msg["X-Loop"] = sender
    for name, value in extra_headers:
        msg[name] = _text(clean_header(value), name)
    msg["MIME-Version"] = "1.0"
    msg.set_payload(body if body.endswith("\n") else body + "\n", _UTF8_QP)
    return msg.as_bytes()
