"""Turning the raw bytes of an inbound mail into a ParsedMessage, whatever state the mail is in.

Which library does what, and why (measured on the 1,063 mails of ../shared/corpus, see
bench/corpus.py; figures are the share of asserted fields that match):

* The MIME tree comes from the standard ``email`` package with the ``compat32`` policy: one
  pass, it never raises on access, flags bad base64 and missing boundaries as defects, and
  decodes RFC 2231 parameters. With ``policy.default`` the same walk costs about twice as much
  and its header objects raise on some malformed parameters and address lists.
* Addresses and the subject go through ``policy.default``'s header registry (RFC 2047 words,
  adjacent-word spacing, commas inside encoded display names) after we repaired raw 8-bit bytes
  and unknown charsets ourselves (``_text.decode_bytes``): the registry alone turns them into
  U+FFFD, and mail-parser drops them ("Grüße" → "Gre").
* mail-parser 4.8 is not used at run time. Measured on the same corpus entries it is as good or
  better on addresses (from_email 0.978 vs 0.978, from_name 0.977 vs 0.954, to 0.992 vs 0.984:
  it keeps spaces between encoded words in display names right where we do not yet), much worse on
  subjects (0.811 vs 0.979: it drops undecodable characters and leaves some encoded words), it
  raised on 2 of 1,063 mails, merges forwarded message/rfc822 bodies into ``text_plain`` and
  leaves attachments base64. Using it for addresses only would parse every mail twice; the
  address gap is the thing to close here instead.
* HTML-only mail becomes text with inscriptis; raw HTML never leaves this module.

Cost: median 0.8 ms, p95 2 ms per corpus mail (bench/corpus.py prints it).
"""

from __future__ import annotations

import binascii
import codecs
import quopri
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import AddressHeader, BaseHeader
from email.message import Message
from email.utils import parsedate_to_datetime
from types import MappingProxyType

from tiket.errors import NotAMail, PermanentError
from tiket.inbound.largeparts import parse_bytes

__all__ = ["Address", "Attachment", "ParsedMessage", "looks_like_mail", "parse"]

_HEADER_ERRORS = (HeaderParseError, ValueError, IndexError, TypeError, AttributeError, LookupError)
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:")
_MSGID = re.compile(r"<[^<>\s]+>")
_BARE_MSGID = re.compile(r"[^<>\s@]+@[^<>\s@]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_SURROGATE = re.compile(r"[\udc80-\udcff]+")
_WS = re.compile(r"\s+")
_COMMENT = re.compile(r"\(([^()]*)\)\s*$")
#: How deep we follow MIME parts. Deeper parts are skipped with a defect, and an embedded
#: message deeper than this keeps only its header block, since the stdlib serialises it
#: recursively (about five frames a level). A tree deeper than the stdlib parser itself can
#: recurse (about 500 levels) is quarantined: see parse().
MAX_DEPTH = 40

#: Charsets that mail software declares but Python does not know, or that are subsets of what
#: the sender really used (a GB2312 label on GBK bytes is the usual case).
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "big5": "big5hkscs",
    "x-mac-cyrillic": "mac_cyrillic",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "shift_jis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "x-sjis": "cp932",
}


@dataclass(frozen=True)
class Address:
    """One mailbox: the decoded display name and the lowercased addr-spec."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    """A non-body part, decoded."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMessage:
    """What the rules need to know about one mail."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    text: str
    html: bool
    attachments: tuple[Attachment, ...]
    headers: Mapping[str, tuple[str, ...]]
    defects: tuple[str, ...]


# --- charsets -------------------------------------------------------------------------------


def _codec(charset: str | None) -> str | None:
    """The Python codec for a declared charset, or None when Python knows no such charset."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None, defects: list[str]) -> str:
    """Decode with the declared charset, else UTF-8, else cp1252, noting each fallback."""
    codec = _codec(charset)
    if charset and codec is None:
        defects.append(f"unknown charset {charset!r}")
    if codec not in (None, "utf-8") and not data.isascii():
        try:
            utf8 = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            defects.append(f"declared {charset!r} but the text is UTF-8")
            return utf8
    for candidate in (codec, "utf-8"):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    if codec is not None and codec != "utf-8":
        defects.append(f"bytes invalid in {charset!r}, decoded with replacement")
        return data.decode(codec, errors="replace")
    defects.append("undecodable bytes, decoded as cp1252")
    return data.decode("cp1252", errors="replace")


def _unescape(value: str, hint: str | None, defects: list[str]) -> str:
    """Replace the surrogate escapes that stand for raw 8-bit bytes with decoded text."""
    if not _SURROGATE.search(value):
        return value

    def repl(match: re.Match[str]) -> str:
        raw = match.group().encode("utf-8", "surrogateescape")
        return decode_bytes(raw, hint, defects)

    # Decode the whole run of non-ASCII at once so multi-byte sequences stay together.
    raw = value.encode("utf-8", "surrogateescape")
    if not hint:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return _SURROGATE.sub(repl, value)


# --- headers --------------------------------------------------------------------------------


def _fold(value: str) -> str:
    return _WS.sub(" ", value).strip()


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("utf-8", "surrogateescape")
    if encoding in "bB":
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    return quopri.decodestring(data.replace(b"_", b" "), header=False)


def _decode_words(value: str, defects: list[str]) -> str:
    """Decode RFC 2047 words leniently: unknown charsets, bad padding, split characters."""
    if "=?" not in value:
        return _fold(value)
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        if between.strip() or not pending:
            out.append(_flush(pending, defects) + between)
            pending = []
        charset, encoding, payload = match.groups()
        try:
            data = _word_bytes(encoding, payload)
        except (binascii.Error, ValueError):
            defects.append(f"undecodable encoded word {match.group()[:40]!r}")
            data = payload.encode("utf-8", "surrogateescape")
        charset = charset.split("*", 1)[0]
        if pending and pending[-1][0] == charset:
            pending[-1] = (charset, pending[-1][1] + data)
        else:
            pending.append((charset, data))
        position = match.end()
    out.append(_flush(pending, defects) + value[position:])
    return _fold("".join(out))


def _flush(pending: list[tuple[str, bytes]], defects: list[str]) -> str:
    return "".join(decode_bytes(data, charset, defects) for charset, data in pending)


def _registry_header(name: str, value: str, defects: list[str]) -> BaseHeader | None:
    try:
        header = policy.default.header_factory(name, value)
    except _HEADER_ERRORS as exc:
        defects.append(f"{name}: {exc}")
        return None
    return header if isinstance(header, BaseHeader) else None


def _subject(value: str | None, defects: list[str]) -> str:
    """The decoded subject, cut to the 998 characters a header line may hold (RFC 5322).

    Longer is no real subject, and every rule would scan all of it (2 s for 500 KB).
    """
    subject = "" if value is None else _decode_words(value[:20_000], defects)
    if len(subject) > 998:
        defects.append(f"subject of {len(value or '')} characters cut to 998")
    return subject[:998]


def _addresses(value: str | None, defects: list[str]) -> tuple[Address, ...]:
    if not value or not value.strip():
        return ()
    # Unfold first: the registry refuses CR/LF, and long address lists are always folded.
    value = value.replace("\r", "").replace("\n", "")
    header = _registry_header("to", value, defects)
    if not isinstance(header, AddressHeader):
        return ()
    try:
        found = header.addresses
    except _HEADER_ERRORS as exc:
        defects.append(f"address list: {exc}")
        return ()
    comment = _COMMENT.search(value) if len(found) == 1 else None
    result: list[Address] = []
    for address in found:
        name = _unescape(_fold(address.display_name or ""), "cp1252", defects)
        name = name or (_fold(comment.group(1)) if comment else "")
        try:
            spec = address.addr_spec
        except _HEADER_ERRORS:
            spec = ""
        # RFC 5321 caps a path at 256 octets, so no real address is longer than 254; a display
        # name is kept to 200 characters (the columns that store names hold that much).
        spec = spec if "@" in spec and len(spec) <= 254 else ""
        email = _unescape(spec, None, defects).lower()
        result.append(Address(name=name[:200], email=email))
    return tuple(result)


def _message_ids(value: str | None) -> tuple[str, ...]:
    """The ids in a header; one longer than a header line may be (998) is no real id: dropped."""
    if not value:
        return ()
    found = _MSGID.findall(value) or [f"<{bare}>" for bare in _BARE_MSGID.findall(value)]
    return tuple(msgid for msgid in found if len(msgid) <= 998)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


# --- raw input ------------------------------------------------------------------------------


def looks_like_mail(raw: bytes) -> bool:
    """True when the bytes start with something that can be a header block."""
    head = raw[:4096].lstrip(b"\r\n\t ")
    if not head or head[:1024].count(b"\x00") > 8:
        return False
    lines = re.split(rb"\r\n|\r|\n", head, maxsplit=6)[:6]
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    return any(_HEADER_LINE.match(line) for line in lines[:3])


def _normalise(raw: bytes, defects: list[str]) -> bytes:
    """Repair the framing problems that make the stdlib parser lose the whole header block."""
    if b"\n" not in raw[:8192] and b"\r" in raw:
        defects.append("CR-only line endings")
        raw = raw.replace(b"\r", b"\n")
    raw = raw.lstrip(b"\r\n")
    if b"\x00" in raw:
        defects.append("NUL bytes removed")
        raw = raw.replace(b"\x00", b"")
    newline = raw.find(b"\n")
    first = raw if newline < 0 else raw[:newline]  # partition() would copy the whole rest
    if not _HEADER_LINE.match(first) and not first.startswith(b"From "):
        defects.append("text before the header block skipped")
        raw = b"" if newline < 0 else raw[newline + 1 :]
    return _join_broken_continuations(raw, defects)


def _join_broken_continuations(raw: bytes, defects: list[str]) -> bytes:
    """Header lines that are neither a field nor indented are continuations folded badly."""
    end = re.search(rb"\r?\n\r?\n", raw)
    cut = end.start() if end else len(raw)
    lines = raw[:cut].split(b"\n")
    if all(
        _HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") or line.startswith(b"From ")
        for line in lines
    ):
        return raw
    defects.append("header continuation lines without indentation")
    fixed = [lines[0]] + [
        line if _HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") else b" " + line
        for line in lines[1:]
    ]
    return b"\n".join(fixed) + raw[cut:]


# --- body and attachments -------------------------------------------------------------------


@dataclass
class _Body:
    plain: list[str]
    html: list[str]
    attachments: list[Attachment]
    defects: list[str]


def _is_attachment(part: Message) -> bool:
    disposition = _get(part, "content-disposition").split(";")[0].strip().lower()
    return disposition == "attachment"


def _part_text(part: Message, body: _Body) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return decode_bytes(data, part.get_content_charset(), body.defects)


def _filename(part: Message, body: _Body) -> str:
    try:
        name = part.get_filename() or ""
    except _HEADER_ERRORS:
        body.defects.append("unreadable attachment filename")
        return ""
    name = _unescape(str(name), "utf-8", body.defects)
    return _decode_words(name, body.defects)


def _add_attachment(part: Message, body: _Body) -> None:
    ctype = part.get_content_type()
    if part.is_multipart() and _depth(part) > MAX_DEPTH:
        body.defects.append(f"{ctype} nested over {MAX_DEPTH} levels: only its headers kept")
        data = _header_block(part)
    elif part.is_multipart():
        data = _serialise(part)
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    body.attachments.append(Attachment(_filename(part, body), ctype, data))


def _serialise(part: Message) -> bytes:
    """The bytes of an embedded message; every field group of a delivery-status part."""
    inner = part.get_payload()
    targets = inner if isinstance(inner, list) and inner else [part]
    if part.get_content_type() != "message/delivery-status":
        targets = targets[:1]
    return b"\n".join(_as_bytes(target) for target in targets if isinstance(target, Message))


def _depth(part: Message) -> int:
    """How many levels of parts lie under `part`, counted without recursion, up to MAX_DEPTH+1."""
    deepest = 0
    stack = [(part, 0)]
    while stack and deepest <= MAX_DEPTH:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = node.get_payload()
        if isinstance(children, list):
            stack.extend((child, level + 1) for child in children if isinstance(child, Message))
    return deepest


def _parts(msg: Message) -> list[Message]:
    """Every part like Message.walk(), without its recursion (a generator per level)."""
    found: list[Message] = []
    stack = [msg]
    while stack:
        node = stack.pop()
        found.append(node)
        children = node.get_payload()
        if isinstance(children, list):
            stack.extend(reversed([child for child in children if isinstance(child, Message)]))
    return found


def _header_block(part: Message) -> bytes:
    """The header block of an embedded message, for one too deep to serialise whole."""
    inner = part.get_payload()
    first = inner[0] if isinstance(inner, list) and inner else None
    target = first if isinstance(first, Message) else part
    lines = "".join(f"{name}: {value}\n" for name, value in target.raw_items())
    return lines.encode("utf-8", "surrogateescape")


def _as_bytes(target: Message) -> bytes:
    try:
        return target.as_bytes(policy=policy.compat32)
    except (LookupError, UnicodeError, ValueError, TypeError, AttributeError, IndexError):
        return target.as_string(policy=policy.compat32).encode("utf-8", "surrogateescape")


def _walk(part: Message, body: _Body, depth: int = 0) -> None:
    ctype = part.get_content_type()
    if depth > MAX_DEPTH:
        body.defects.append("MIME nesting too deep")
        return
    if ctype.startswith("message/") or ctype == "text/rfc822-headers":
        _add_attachment(part, body)
    elif part.is_multipart():
        _walk_multipart(part, body, depth)
    elif _is_attachment(part) or not ctype.startswith("text/"):
        _add_attachment(part, body)
    elif ctype == "text/html":
        body.html.append(_part_text(part, body))
    elif ctype in ("text/plain", "text/enriched") or not _filename(part, body):
        body.plain.append(_part_text(part, body))
    else:
        _add_attachment(part, body)


def _walk_multipart(part: Message, body: _Body, depth: int) -> None:
    children = [child for child in part.get_payload() if isinstance(child, Message)]
    subtype = part.get_content_subtype()
    if subtype == "alternative":
        _walk_alternative(children, body, depth)
        return
    for index, child in enumerate(children):
        if subtype == "related" and index > 0:
            _add_attachment(child, body)
        else:
            _walk(child, body, depth + 1)


def _walk_alternative(children: list[Message], body: _Body, depth: int) -> None:
    """Keep the plain-text alternative when there is one, and note that HTML was offered."""
    variant = _Body([], [], [], body.defects)
    for child in children:
        _walk(child, variant, depth + 1)
    body.plain.extend(variant.plain)
    body.attachments.extend(variant.attachments)
    if variant.html:
        body.html.append(variant.html[0])
    if not variant.plain and variant.html:
        body.plain.append("")


def _html_to_text(html: str) -> str:
    from inscriptis import get_text  # lxml with it: ~4 MB, only once an HTML-only mail comes

    try:
        return str(get_text(html))
    except (ValueError, RecursionError, LookupError, TypeError):
        return re.sub(r"<[^>]*>", " ", html)


def _text(body: _Body) -> str:
    plain = "\n".join(text for text in body.plain if text.strip())
    if plain.strip() or not body.html:
        return plain.replace("\r\n", "\n").strip("\n")
    return _html_to_text("\n".join(body.html)).strip("\n")


def _body(msg: Message, defects: list[str]) -> _Body:
    body = _Body([], [], [], defects)
    if msg.is_multipart() and not msg.get_payload():
        defects.append("multipart without parts")
        return body
    _walk(msg, body)
    return body


# --- the message ----------------------------------------------------------------------------


def _header_map(msg: Message, hint: str | None, defects: list[str]) -> dict[str, tuple[str, ...]]:
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        text = _decode_words(_unescape(str(value), hint, defects), defects)
        headers.setdefault(name.strip().lower(), []).append(text)
    return {name: tuple(values) for name, values in headers.items()}


def _get(msg: Message, name: str) -> str:
    """A header's raw text ("" when absent); compat32 returns Header objects for 8-bit values."""
    for key, value in msg.raw_items():
        if key.lower() == name:
            return str(value)
    return ""


def _raw_header(msg: Message, name: str, hint: str | None, defects: list[str]) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name:
            return _unescape(str(value), hint, defects)
    return None


def _charset_hint(msg: Message) -> str | None:
    for part in _parts(msg):
        charset = part.get_content_charset()
        if charset:
            return charset
    return None


def parse(raw: bytes) -> ParsedMessage:
    """Parse one mail; malformed mail yields defects.

    Raises NotAMail for bytes that are no mail, and PermanentError for a MIME tree nested deeper
    than the stdlib parser can recurse (a message/rfc822 bomb).
    """
    if not looks_like_mail(raw):
        raise NotAMail("the input has no header block: it is not a mail")
    defects: list[str] = []
    try:
        msg = parse_bytes(_normalise(raw, defects))
    except RecursionError:
        raise PermanentError("MIME parts nested too deeply to parse (a message bomb?)") from None
    defects.extend(type(defect).__name__ for defect in msg.defects)
    hint = _charset_hint(msg)
    body = _body(msg, defects)
    defects.extend(
        f"{part.get_content_type()}: {type(defect).__name__}"
        for part in _parts(msg)
        if part is not msg
        for defect in part.defects
    )
    sender = _addresses(_raw_header(msg, "from", hint, defects), defects)
    return ParsedMessage(
        message_id=next(iter(_message_ids(_get(msg, "message-id"))), None),
        in_reply_to=_message_ids(_get(msg, "in-reply-to")),
        references=_message_ids(_get(msg, "references")),
        from_=sender[0] if sender else None,
        reply_to=_addresses(_raw_header(msg, "reply-to", hint, defects), defects),
        to=_addresses(_joined(msg, "to", hint, defects), defects),
        cc=_addresses(_joined(msg, "cc", hint, defects), defects),
        subject=_subject(_raw_header(msg, "subject", hint, defects), defects),
        date=_date(_get(msg, "date")),
        text=_text(body),
        html=bool(body.html),
        attachments=tuple(body.attachments),
        headers=MappingProxyType(_header_map(msg, hint, defects)),
        defects=tuple(dict.fromkeys(defects)),
    )


def _joined(msg: Message, name: str, hint: str | None, defects: list[str]) -> str | None:
    values = [value for key, value in msg.raw_items() if key.lower() == name]
    if not values:
        return None
    return _unescape(", ".join(str(value) for value in values), hint, defects)
