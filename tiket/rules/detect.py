"""Recognising automatic mail: auto-replies that must never be answered, and bounces.

Pure functions over a ParsedMessage. A bounce is found from its structure first (a
message/delivery-status part, RFC 3464), then from the null or mailer-daemon sender plus a
non-delivery subject or body; the failed recipients and the original Message-ID come from the
delivery-status fields, the returned message or its headers, else from the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from tiket.inbound.parse import ParsedMessage

__all__ = ["Bounce", "auto_reply_reason", "bounce"]


@dataclass(frozen=True)
class Bounce:
    """A non-delivery report: which addresses failed, how badly, and for which message."""

    hard: bool
    recipients: tuple[str, ...]
    original_message_id: str | None
    original_subject: str | None


_OOO_SUBJECT = re.compile(
    r"\b(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response|antwort)|"
    r"autoreply|autorespond|away from (?:my|the) office|on vacation|vacation reply|"
    r"abwesenheit|abwesend|absence|réponse automatique|respuesta automática|"
    r"balasan otomatis|jawaban otomatis|sedang cuti|sedang di luar kantor|di luar kantor|"
    r"pesan otomatis|odpowiedź automatyczna|automatyczna odpowiedź)\b",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|failed|problem|report|"
    r"notification)|mail delivery|returned mail|failure notice|non[- ]?delivery|"
    r"nondeliverable|not delivered|could not be delivered|delivery has failed|mail system error|"
    r"rejected|bounce|unzustellbar|nicht zustellbar|unable to deliver|deliver(?:y)? error|"
    r"message delayed|warning: could not send|delivery delayed|mail failure|error sending|"
    r"permanent error|mail not delivered|gagal terkirim|tidak terkirim",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"(?:could not be delivered|couldn't be delivered|delivery to the following recipients? "
    r"failed|undeliverable|permanent (?:fatal )?error|user unknown|unknown user|"
    r"mailbox (?:unavailable|not found|is full)|no such (?:user|mailbox)|"
    r"delivery has failed|message was not delivered|returned to sender|"
    r"following address(?:es)? (?:had|failed)|I'm sorry to have to inform you|"
    r"unable to deliver|not be delivered to one or more|delivery failed)",
    re.IGNORECASE,
)
_DELAY = re.compile(
    r"\b(?:delayed|delay(?:ed)? (?:warning|notification)|will (?:keep trying|retry|be retried|"
    r"continue trying)|still trying|has not yet been delivered|temporar(?:y|ily) (?:failure|"
    r"problem|error)|not yet been delivered)\b",
    re.IGNORECASE,
)
_STATUS = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.-])([45])\d\d[ -]")
_EMAIL = re.compile(r"[A-Za-z0-9._%+=/'!#$&*?^`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_MSGID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_SUBJECT = re.compile(r"^\s*Subject:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def _first(msg: ParsedMessage, name: str) -> str:
    values = msg.headers.get(name, ())
    return values[0].strip() if values else ""


def _header_reason(msg: ParsedMessage) -> str | None:
    auto_submitted = _first(msg, "auto-submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _first(msg, "precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("list-id", "list-unsubscribe"):
        if name in msg.headers:
            return f"{name} header"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if name in msg.headers:
            return f"{name} header"
    suppress = _first(msg, "x-auto-response-suppress").lower()
    if "oof" in suppress or "all" in suppress:
        return f"X-Auto-Response-Suppress: {suppress}"
    return None


def _sender_reason(msg: ParsedMessage) -> str | None:
    return_path = _first(msg, "return-path")
    if return_path.replace(" ", "") == "<>":
        return "null return path"
    if msg.from_ is None or not msg.from_.email:
        return None
    if _DAEMON.match(msg.from_.email):
        return f"sent by {msg.from_.email}"
    return None


def auto_reply_reason(msg: ParsedMessage) -> str | None:
    """Why this mail is automatic and must never be answered, None when a person wrote it."""
    reason = _header_reason(msg) or _sender_reason(msg)
    if reason:
        return reason
    match = _OOO_SUBJECT.search(msg.subject)
    if match:
        return f"out-of-office subject ({match.group()})"
    if bounce(msg) is not None:
        return "bounce"
    return None


# --- bounces --------------------------------------------------------------------------------


def _parts(msg: ParsedMessage, *types: str) -> list[bytes]:
    return [a.data for a in msg.attachments if a.content_type in types]


def _status_fields(data: bytes) -> list[dict[str, str]]:
    """The per-recipient field groups of a message/delivery-status body (RFC 3464)."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    groups: list[dict[str, str]] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in re.sub(r"\n[ \t]+", " ", block).split("\n"):
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        if "final-recipient" in fields or "original-recipient" in fields or "action" in fields:
            groups.append(fields)
    return groups


def _recipient(fields: dict[str, str]) -> str:
    for name in ("final-recipient", "original-recipient", "x-actual-recipient"):
        value = fields.get(name, "")
        found = _EMAIL.search(value.split(";", 1)[-1])
        if found:
            return found.group().lower().strip(".")
    return ""


def _from_dsn(msg: ParsedMessage) -> tuple[list[str], bool | None]:
    recipients: list[str] = []
    hard: bool | None = None
    for data in _parts(msg, "message/delivery-status", "message/global-delivery-status"):
        for fields in _status_fields(data):
            action = fields.get("action", "").lower()
            if action in ("delivered", "relayed", "expanded"):
                continue
            status = _STATUS.search(fields.get("status", ""))
            failed = action.startswith("failed") or (status is not None and status[1] == "5")
            hard = (hard or False) or failed
            address = _recipient(fields)
            if address and address not in recipients:
                recipients.append(address)
    return recipients, hard


def _original(msg: ParsedMessage) -> Message | None:
    for data in _parts(msg, "message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
        if data.strip():
            return message_from_bytes(data, policy=policy.compat32)
    return None


def _original_ids(msg: ParsedMessage) -> tuple[str | None, str | None]:
    original = _original(msg)
    if original is not None and (original.get("message-id") or original.get("subject")):
        found = re.search(r"<[^<>\s]+>", str(original.get("message-id") or ""))
        subject = original.get("subject")
        return (found.group() if found else None), (str(subject).strip() if subject else None)
    text_id = _MSGID.search(msg.text)
    text_subject = _SUBJECT.search(msg.text)
    return (
        text_id.group(1) if text_id else None,
        text_subject.group(1).strip() if text_subject else None,
    )


def _text_recipients(msg: ParsedMessage) -> list[str]:
    """Failed addresses named in a free-text report: the ones near an error, ours excluded."""
    own = {a.email for a in (*msg.to, *msg.cc)}
    if msg.from_:
        own.add(msg.from_.email)
    text = msg.text.split("\n-----", 1)[0]
    text = re.split(r"^(?:Received|Return-Path|Message-ID|From|Subject):", text, flags=re.M)[0]
    found: list[str] = []
    for match in _EMAIL.finditer(text):
        address = match.group().lower().strip(".")
        if address not in own and address not in found and not _DAEMON.match(address):
            found.append(address)
    return found


def _looks_like_bounce(msg: ParsedMessage) -> bool:
    ctype = _first(msg, "content-type").lower()
    if "report-type=delivery-status" in ctype.replace('"', "").replace(" ", ""):
        return True
    if _parts(msg, "message/delivery-status", "message/global-delivery-status"):
        return True
    if "feedback-report" in ctype or _OOO_SUBJECT.search(msg.subject):
        return False
    sender = msg.from_.email if msg.from_ else ""
    daemon = not sender or bool(_DAEMON.match(sender)) or "daemon" in sender
    by_subject = bool(_BOUNCE_SUBJECT.search(msg.subject))
    by_body = bool(_BOUNCE_BODY.search(msg.text[:5000]))
    return (daemon and (by_subject or by_body)) or (by_subject and by_body)


def _is_hard(msg: ParsedMessage, dsn_hard: bool | None) -> bool:
    if dsn_hard is not None:
        return dsn_hard
    if _DELAY.search(msg.subject) or _DELAY.search(msg.text[:3000]):
        return False
    status = _STATUS.search(msg.text)
    if status is not None:
        return status[1] != "4"
    code = _SMTP_CODE.search(msg.text)
    return code is None or code[1] == "5"


def bounce(msg: ParsedMessage, raw: bytes | None = None) -> Bounce | None:
    """The non-delivery report in this mail, None when it is not one."""
    del raw  # the parsed attachments hold the delivery-status and the returned message
    if not _looks_like_bounce(msg):
        return None
    recipients, dsn_hard = _from_dsn(msg)
    if not recipients:
        recipients = _text_recipients(msg)
    message_id, subject = _original_ids(msg)
    return Bounce(
        hard=_is_hard(msg, dsn_hard),
        recipients=tuple(recipients),
        original_message_id=message_id,
        original_subject=subject,
    )
