"""Large base64 bodies: kept out of the stdlib parser and decoded in chunks from the raw bytes.

The stdlib parser turns a 34 MB base64 body into a str, a list of 450,000 line strings and a
joined copy, then decodes a bytes copy of that (about ten times the attachment, seconds of CPU).
Here every run of base64 lines longer than LARGE is replaced by a token line before parsing; the
part that ends up holding the token decodes its span of the raw bytes itself, 1 MB at a time. A
run that is not exactly one part's clean base64 body (a token in a preamble, in a part that is
not base64, padding in the middle) sends the whole mail through the stdlib as before.
"""

from __future__ import annotations

import binascii
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.policy import Policy
from typing import Any

__all__ = ["LARGE", "LargePartMessage", "Span", "parse_bytes"]

LARGE = 1 << 20  # a run of base64 lines at least this long is decoded here
CHUNK = 1 << 20
# A single character class, not a repeated line group: sre keeps state for every repetition of
# a group (90 MB for 450,000 lines), none for a class.
_CANDIDATE = re.compile(rb"[A-Za-z0-9+/=\r\n]{%d,}" % LARGE)
_BLANK = re.compile(rb"\n\r?\n")
_NEWLINES = b"\r\n"


@dataclass(frozen=True)
class Span:
    """The base64 lines raw[start:end] (without the last line's newline) of one part."""

    raw: bytes
    start: int
    end: int
    token: str  # the line that stands for these lines in the text the stdlib parses

    def clean(self) -> bool:
        """Whole quads with padding only at the very end: chunks decode independently."""
        equals = self.raw.count(b"=", self.start, self.end)
        if equals > 2 or (equals and not self.raw.endswith(b"=" * equals, self.start, self.end)):
            return False
        newlines = self.raw.count(b"\n", self.start, self.end)
        newlines += self.raw.count(b"\r", self.start, self.end)
        return (self.end - self.start - newlines) % 4 == 0

    def decoded(self) -> bytes:
        out = io.BytesIO()  # getvalue() hands over its buffer: no second copy of the result
        carry = b""
        position = self.start
        while position < self.end:
            stop = min(self.end, position + CHUNK)
            chars = carry + self.raw[position:stop].translate(None, _NEWLINES)
            whole = len(chars) - len(chars) % 4
            out.write(binascii.a2b_base64(chars[:whole]))
            carry = chars[whole:]
            position = stop
        return out.getvalue()

    def lines(self, linesep: str) -> str:
        """The base64 text with `linesep` line ends, as a generator writes a payload."""
        return linesep.join(self.raw[self.start : self.end].decode("ascii").splitlines())


class LargePartMessage(Message):
    """A compat32 part whose base64 body may live in a Span; its str payload is then a token."""

    large: Span | None = None

    def get_payload(self, i: Any = None, decode: bool = False) -> Any:
        if decode and i is None and self.large is not None:
            return self.large.decoded()
        return super().get_payload(i, True) if decode else super().get_payload(i, False)

    def as_bytes(self, unixfrom: bool = False, policy: Policy[Any] | None = None) -> bytes:
        data = super().as_bytes(unixfrom, policy)
        linesep = (policy or self.policy).linesep
        for span in self._spans():
            data = data.replace(span.token.encode("ascii"), span.lines(linesep).encode("ascii"))
        return data

    def as_string(
        self, unixfrom: bool = False, maxheaderlen: int = 0, policy: Policy[Any] | None = None
    ) -> str:
        text = super().as_string(unixfrom, maxheaderlen, policy)
        linesep = (policy or self.policy).linesep
        for span in self._spans():
            text = text.replace(span.token, span.lines(linesep))
        return text

    def _spans(self) -> list[Span]:
        """The spans of this part and of every part under it (serialised as their tokens)."""
        found: list[Span] = []
        stack: list[Any] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, LargePartMessage) and node.large is not None:
                found.append(node.large)
            children = node.get_payload() if isinstance(node, Message) else None
            if isinstance(children, list):
                stack.extend(children)
        return found


def parse_bytes(raw: bytes) -> Message:
    """What `message_from_bytes(raw, policy=compat32)` gives, without holding big bodies as str."""
    if len(raw) >= LARGE:
        reduced, spans = _set_aside(raw)
        if spans:
            msg = message_from_bytes(reduced, LargePartMessage, policy=policy.compat32)
            if _claim(msg, spans):
                return msg
    return message_from_bytes(raw, policy=policy.compat32)


def _set_aside(raw: bytes) -> tuple[bytes, dict[str, Span]]:
    """`raw` with each long base64 run replaced by a token line, and the spans by token."""
    nonce = secrets.token_hex(8)
    pieces: list[bytes] = []
    spans: dict[str, Span] = {}
    position = 0
    for start, stop in _runs(raw):
        end = stop - (2 if raw[stop - 2 : stop] == b"\r\n" else 1)
        token = f"tiket-large-part-{nonce}-{len(spans)}"
        spans[token] = Span(raw, start, end, token)
        pieces += (raw[position:start], token.encode("ascii"))
        position = end
    if not spans:
        return raw, {}
    pieces.append(raw[position:])
    return b"".join(pieces), spans


def _runs(raw: bytes) -> Iterator[tuple[int, int]]:
    """(start, stop) of each run of whole base64 lines of at least LARGE bytes, newline included."""
    for match in _CANDIDATE.finditer(raw):
        start, stop = match.span()
        if start and raw[start - 1] != 0x0A:
            start = raw.find(b"\n", start, stop) + 1  # from the next whole line
        stop = raw.rfind(b"\n", start, stop) + 1  # to the end of the last whole line
        if (start == 0 and match.start() != 0) or stop <= start:
            continue
        for blank in _BLANK.finditer(raw, start, stop):  # a blank line ends a body
            start = _past_blank_lines(raw, start, blank.start() + 1)
            if blank.start() + 1 - start >= LARGE:
                yield start, blank.start() + 1
            start = blank.end()
        start = _past_blank_lines(raw, start, stop)
        if stop - start >= LARGE:
            yield start, stop


def _past_blank_lines(raw: bytes, start: int, stop: int) -> int:
    """The first position from `start` that is no newline (the blank line after a header block)."""
    while start < stop and raw[start] in _NEWLINES:
        start += 1
    return start


def _claim(msg: Message, spans: dict[str, Span]) -> bool:
    """Give each span to the base64 leaf part holding its token; False unless all fit."""
    claimed = 0
    for part in msg.walk():
        if part.is_multipart() or not isinstance(part, LargePartMessage):
            continue
        payload = part.get_payload()
        token = payload.strip() if isinstance(payload, str) else ""
        if token not in spans:
            if isinstance(payload, str) and "tiket-large-part-" in payload:
                return False  # a token inside other text: the run was not a whole body
            continue
        encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
        span = spans[token]
        if encoding != "base64" or not span.clean():
            return False
        part.large = span
        claimed += 1
    return claimed == len(spans)
