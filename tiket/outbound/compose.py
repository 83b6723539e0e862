"""Outgoing mail as bytes: headers that thread, identify us as automatic, and cannot be injected."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from tiket.model.base import utcnow

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_header(value: str, limit: int = 300) -> str:
    """One line, no control characters: a subject or name from outside cannot add headers."""
    return _CONTROL.sub(" ", value).strip()[:limit]


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
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((clean_header(sender_name), sender))
    msg["To"] = to
    msg["Subject"] = clean_header(subject, 900)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = reply_to
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = [r for r in references if r][-20:]
    if refs:
        msg["References"] = " ".join(refs)
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
    msg["X-Loop"] = sender
    for name, value in extra_headers:
        msg[name] = clean_header(value)
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()
