"""Recognising automatic mail: auto-replies that must never be answered, and bounces.

Pure functions over a ParsedMessage. A bounce is found from its structure first (a
message/delivery-status part, RFC 3464, that reports a failure or delay - not only successes,
not a challenge-response request), then from the null or mailer-daemon sender plus a
non-delivery subject or body; the failed recipients (Original-Recipient first: the address we
wrote to) and the original Message-ID come from the delivery-status fields, the returned message
or its headers, else from the text.

``Bounce.hard`` follows sisimai: hard only when the address itself is bad (user or host
unknown, address moved, domain accepts no mail), because a hard bounce suppresses mail to the
address for a while. Full mailboxes, disabled accounts, spam/policy/content rejections, rate
limits, delays and rejections after DATA are soft even with a 5.x.x status. Measured with
bench/corpus.py (bounce_hard, before -> after): sisimai 195/550 -> 486/550; flufl.bounce
89/101 -> 52/101, because flufl calls every permanent failure hard (its false = delay only), so
its full mailboxes, disabled accounts and reason-less failures now disagree by design; overall
285/652 -> 539/652. is_bounce 780/810 -> 795/810, bounced_recipients 116/140 -> 129/140.
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
_DAEMON = re.compile(
    r"^(?:mailer-daemon|postmaster|post_master|mail-daemon|mailerdaemon|mail\.delivery\.system)@",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|failed|problem|report|"
    r"notification)|mail delivery|returned mail|failure notice|non[- ]?delivery|"
    r"nondeliverable|not delivered|could not be delivered|delivery has failed|mail system error|"
    r"rejected|bounce|unzustellbar|nicht zustellbar|unable to deliver|deliver(?:y)? error|"
    r"message delayed|warning: could not send|delivery delayed|mail failure|error sending|"
    r"permanent error|mail not delivered|gagal terkirim|tidak terkirim|mail failed|failed mail|"
    r"returning to sender|warning: message .{1,80} delayed|"
    r"传输失败|投递失败|退信|エラー通知|配信エラー",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"(?:could not be delivered|couldn't be delivered|delivery to the following recipients? "
    r"failed|undeliverable|permanent (?:fatal )?error|user unknown|unknown user|"
    r"mailbox (?:unavailable|not found|is full)|no such (?:user|mailbox)|"
    r"delivery has failed|message was not delivered|returned to sender|"
    r"following address(?:es)? (?:had|failed)|I'm sorry to have to inform you|"
    r"unable to deliver|not be delivered to one or more|delivery failed|no valid recipients|"
    r"did not reach the following recipient|not a valid user|envelope expired|"
    r"has not yet been delivered|was aborted after|message has been returned|"
    r"error has occurred while attempting to deliver|wasn't able to deliver)",
    re.IGNORECASE,
)
_DELAY = re.compile(
    r"\b(?:delayed|delay(?:ed)? (?:warning|notification)|will (?:keep trying|retry|be retried|"
    r"continue trying)|still trying|has not yet been delivered|temporar(?:y|ily) (?:failure|"
    r"problem|error)|not yet been delivered)\b",
    re.IGNORECASE,
)
_STATUS = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")
#: In free text only failure codes count ("Mailman 2.0.12" in a subject is no status).
_TEXT_STATUS = re.compile(r"(?<![\d.])[45]\.\d{1,3}\.\d{1,3}(?![\d.])")
#: A summary of the returned message ("To: list@…", "Subject: …") inside a report.
_SUMMARY_LINE = re.compile(
    r"^\s*(?:To|Cc|From|Sender|Reply-To|Subject|Date|Sent)\s*:.*$", re.MULTILINE | re.IGNORECASE
)
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


def _clean_address(address: str) -> str:
    """A matched address without quotes, trailing dots or an "smtp=" prefix, lower-cased."""
    address = address.lower().strip(".'\"`")
    return re.sub(r"^(?:smtp|rfc822)=", "", address)


def _recipient(fields: dict[str, str]) -> str:
    # The original recipient is the address we wrote to; the final one may be an alias target.
    for name in ("original-recipient", "final-recipient", "x-actual-recipient"):
        value = fields.get(name, "")
        found = _EMAIL.search(value.split(";", 1)[-1])
        if found:
            return _clean_address(found.group())
    return ""


@dataclass(frozen=True)
class _Failure:
    """One failed recipient of a delivery-status report."""

    address: str
    status: str
    diagnostic: str


def _from_dsn(msg: ParsedMessage) -> list[_Failure]:
    failures: list[_Failure] = []
    for data in _parts(msg, "message/delivery-status", "message/global-delivery-status"):
        for fields in _status_fields(data):
            action = fields.get("action", "").lower()
            if action in ("delivered", "deliverable", "relayed", "expanded"):
                continue
            found = _STATUS.search(fields.get("status", ""))
            status = found.group() if found else ""
            if action.startswith("delayed") and not status.startswith("4"):
                status = "4.0.0"
            diagnostic = fields.get("diagnostic-code", "").partition(";")[2] or fields.get(
                "diagnostic-code", ""
            )
            failures.append(_Failure(_recipient(fields), status, diagnostic))
    return failures


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
    head = msg.text.split("\n-----", 1)[0]
    text = head if _EMAIL.search(head) else msg.text
    text = re.split(r"^(?:Received|Return-Path|Message-ID|DKIM-Signature):", text, flags=re.M)[0]
    # A summary of the returned message ("To: list@…", "Cc: …") names its recipients, not failures.
    text = _SUMMARY_LINE.sub("", text)
    found: list[str] = []
    for match in _EMAIL.finditer(text):
        address = _clean_address(match.group())
        if address not in own and address not in found and not _DAEMON.match(address):
            found.append(address)
    return found


#: Challenge-response systems answer with a DSN-shaped "prove you are a person" request.
_CHALLENGE = re.compile(
    r"not pre-approved|requires confirmation|whitelist|waitlist|challenge|verify (?:you|your)",
    re.IGNORECASE,
)


def _reports_a_failure(reports: list[bytes]) -> bool:
    """Whether delivery-status parts report a failure or delay: not only successes, no challenge."""
    groups = [fields for data in reports for fields in _status_fields(data)]
    if not groups:
        return True
    actions = [fields.get("action", "").lower() for fields in groups]
    if any(actions) and all(
        action in ("delivered", "deliverable", "relayed", "expanded", "") for action in actions
    ):
        return False
    diagnostics = [fields["diagnostic-code"] for fields in groups if "diagnostic-code" in fields]
    return not (diagnostics and all(_CHALLENGE.search(text) for text in diagnostics))


def _looks_like_bounce(msg: ParsedMessage) -> bool:
    ctype = _first(msg, "content-type").lower()
    reports = _parts(msg, "message/delivery-status", "message/global-delivery-status")
    if reports:
        return _reports_a_failure(reports)
    if "report-type=delivery-status" in ctype.replace('"', "").replace(" ", ""):
        return True
    if "feedback-report" in ctype or _OOO_SUBJECT.search(msg.subject):
        return False
    sender = msg.from_.email if msg.from_ else ""
    daemon = not sender or bool(_DAEMON.match(sender)) or "daemon" in sender
    by_subject = bool(_BOUNCE_SUBJECT.search(msg.subject))
    by_body = bool(_BOUNCE_BODY.search(msg.text[:5000]))
    return (daemon and (by_subject or by_body)) or (by_subject and by_body)


# --- how bad a bounce is -------------------------------------------------------------------
#
# "hard" means the address itself is bad (sisimai's hard-bounce reasons: userunknown, hostunknown,
# hasmoved, notaccept), so mail to it is suppressed for a while. Everything else - a full
# mailbox, spam or policy rejections, blocked senders, rate limits, expired retries - is "soft"
# even with a 5.x.x status: the address exists and a later message may well get through.

_HARD_TEXT = re.compile(
    r"user(?:name)? (?:is )?unknown|"
    r"unknown (?:user|recipient|address|e-?mail address|local[- ]part|mailbox)|"
    r"no such (?:user|mailbox|recipient|address|account|person|local user)|"
    r"(?:user|recipient|mailbox|address|account|addressee|destination) (?:was )?not found|"
    r"mailbox (?:does not exist|not present|unavailable|is unavailable|name not allowed)|"
    r"(?:address|user|recipient|account|mailbox|e-?mail address)\S* (?:does not|doesn't|did not) "
    r"exist|does not exist (?:here|at|in)|invalid (?:recipient|mailbox|address|user|e-?mail)|"
    r"not a valid (?:mailbox|recipient|user|address)|is not a known user|recipient (?:unknown|"
    r"rejected|invalid|address rejected: (?:invalid|unknown|user|undeliverable|no such|not found|"
    r"account))|bad (?:destination )?(?:mailbox|recipient|address)|addressee unknown|"
    r"unrouteable address|undeliverable address|no mailbox (?:here|by that name|available)|"
    r"no account by that name|account (?:does not|doesn't) exist|recipnotfound|"
    r"email account that you tried to reach does not exist|doesn't have an? \S+ account|"
    r"not our (?:customer|user)|unknown or illegal alias|not listed in (?:the )?(?:Domino|public "
    r"Name)|recipient name is not recognized|invalid final delivery userid|user not exist|"
    r"check if (?:the )?address is correct|recipient address rejected|host \S+ not found|"
    r"no mx (?:record )?found|user not known|n'existe pas|indicated no SMTP service|"
    r"domain is not reachable|"
    r"no valid recipients|destination addresses? (?:were|was) unknown|"
    r"host (?:or domain name )?(?:not found|unknown)|unknown host|domain (?:does not|doesn't) "
    r"exist|no such domain|domain (?:name )?not found|unrouteable mail domain|"
    r"name service error|recipient domain must exist|illegal host/domain|"
    r"does not have a final email delivery point|no matches to nameserver query|"
    r"unknown domain|domain is not (?:valid|in use)|nxdomain|"
    r"has moved|address has (?:been )?changed|no longer (?:valid|available|in use|active|exists|"
    r"works)|does not accept (?:any )?mail|null mx|not accepting mail",
    re.IGNORECASE,
)
_SOFT_TEXT = re.compile(
    r"(?:mailbox|mailfolder) (?:is )?full|quota|insufficient (?:disk|storage|space)|"
    r"storage (?:space|limit)|"
    r"exceed(?:s|ed)? (?:the )?(?:storage|size|quota|limit)|too (?:big|large)|size limit|"
    r"disabled|suspended|inactive|deactivated|"
    r"spam|blacklist|blocklist|block(?:ed|ing)|banned|policy|reputation|dmarc|spf|dkim|"
    r"relay(?:ing)? (?:denied|not permitted|access denied)|not permitted to relay|"
    r"sender (?:address )?(?:rejected|verify failed|denied)|rate limit|too many|"
    r"try (?:again )?later|temporar(?:y|ily)|timed? ?out|expired|retry|"
    r"reverse dns|ptr record|virus|content (?:rejected|filter)|authenticat",
    re.IGNORECASE,
)
#: Enhanced status codes (RFC 3463) that name a bad address; other 5.x.x codes do not.
_HARD_STATUS = re.compile(r"^5\.(?:1\.(?:1|2|3|6|10)|4\.4)$")
#: Mailbox state, routing, content and policy classes: the address itself may be fine.
_SOFT_STATUS = re.compile(r"^5\.(?:2|4|6|7)\.")


def _is_hard_failure(status: str, diagnostic: str, report: str, after_data: bool) -> bool:
    """Whether one failed recipient's status and texts say the address itself is bad.

    The recipient's own diagnostic is the best witness, then a specific status code, and only
    then the whole report's text (which also holds boilerplate and other recipients).
    """
    if status.startswith(("4", "2")) or status.startswith("5.2."):
        return False
    if after_data and not _HARD_STATUS.match(status):
        return False
    if _HARD_TEXT.search(diagnostic):
        return not _SOFT_TEXT.search(diagnostic)
    if _SOFT_TEXT.search(diagnostic):
        return False
    if _HARD_STATUS.match(status):
        return True
    if _SOFT_STATUS.match(status):
        return False
    return bool(_HARD_TEXT.search(report)) and not _SOFT_TEXT.search(report)


def _report_text(msg: ParsedMessage) -> str:
    """The human-readable part of a report, without the returned message."""
    text = msg.text[:6000]
    return re.split(
        r"^-{3,}.{0,40}(?:original message|returned message|below this line|headers)|"
        r"^(?:Received|Return-Path|DKIM-Signature):",
        text,
        maxsplit=1,
        flags=re.IGNORECASE | re.MULTILINE,
    )[0]


#: The rejection came after the message was sent (a content filter), not for the address.
_AFTER_DATA = re.compile(r"in reply to end of DATA|after end of data", re.IGNORECASE)


def _is_hard(msg: ParsedMessage, failures: list[_Failure]) -> bool:
    report = _report_text(msg)
    after_data = bool(_AFTER_DATA.search(report))
    if failures:
        # One flag covers every recipient: hard only when all of them are bad, so a full
        # mailbox next to an unknown user is never suppressed (any() would score 1 more).
        return all(_is_hard_failure(f.status, f.diagnostic, report, after_data) for f in failures)
    if _DELAY.search(msg.subject) or _DELAY.search(report[:3000]):
        return False
    found = _TEXT_STATUS.search(_SUMMARY_LINE.sub("", report))
    return _is_hard_failure(found.group() if found else "", "", report, after_data)


def bounce(msg: ParsedMessage, raw: bytes | None = None) -> Bounce | None:
    """The non-delivery report in this mail, None when it is not one."""
    del raw  # the parsed attachments hold the delivery-status and the returned message
    if not _looks_like_bounce(msg):
        return None
    failures = _from_dsn(msg)
    recipients = list(dict.fromkeys(f.address for f in failures if f.address))
    if not recipients:
        recipients = _text_recipients(msg)
    message_id, subject = _original_ids(msg)
    return Bounce(
        hard=_is_hard(msg, failures),
        recipients=tuple(recipients),
        original_message_id=message_id,
        original_subject=subject,
    )
