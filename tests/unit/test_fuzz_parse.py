"""Fuzzing the parser: whatever the bytes, a ParsedMessage or NotAMail, never anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiket.errors import NotAMail
from tiket.inbound.parse import parse
from tiket.inbound.quotes import split_reply
from tiket.rules.detect import auto_reply_reason, bounce

HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Date",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
        "Precedence",
        "X-Loop",
        "Content-Disposition",
        "MIME-Version",
        "Return-Path",
        "X-Whatever",
    ]
)
CHARSETS = st.sampled_from(
    [
        "utf-8",
        "iso-8859-1",
        "windows-1252",
        "gb2312",
        "x-unknown",
        "",
        "utf-7",
        "iso-2022-jp",
        "koi8-r",
        "bogus\x00",
    ]
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@st.composite
def headers(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(HEADER_NAMES)
        value = draw(TEXT).replace("\r", " ").replace("\n", " ")
        if draw(st.booleans()):
            charset = draw(CHARSETS)
            value = f"=?{charset}?{draw(st.sampled_from('BQbq'))}?{value[:40]}?="
        lines.append(f"{name}: {value}".encode("utf-8", "surrogateescape"))
    return b"\r\n".join(lines)


@st.composite
def mime_tree(draw: st.DrawFn, depth: int = 0) -> bytes:
    charset = draw(CHARSETS)
    kind = draw(
        st.sampled_from(
            [
                "text/plain",
                "text/html",
                "multipart/mixed",
                "multipart/alternative",
                "message/rfc822",
                "application/pdf",
                "multipart/report",
            ]
        )
    )
    if kind.startswith("multipart") and depth < 3:
        parts = [draw(mime_tree(depth + 1)) for _ in range(draw(st.integers(0, 3)))]
        body = b"".join(b"--B" + str(depth).encode() + b"\r\n" + p + b"\r\n" for p in parts)
        if draw(st.booleans()):
            body += b"--B" + str(depth).encode() + b"--\r\n"
        head = f'Content-Type: {kind}; boundary="B{depth}"'.encode()
    elif kind == "message/rfc822" and depth < 3:
        head, body = (
            b"Content-Type: message/rfc822",
            draw(headers()) + b"\r\n\r\n" + draw(mime_tree(depth + 1)),
        )
    else:
        encoding = draw(st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-bad"]))
        head = f"Content-Type: {kind}; charset={charset}\r\nContent-Transfer-Encoding: {encoding}"
        head = head.encode()
        body = draw(st.binary(max_size=400)) if draw(st.booleans()) else draw(TEXT).encode()
    return head + b"\r\n\r\n" + body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers(), mime_tree(), st.integers(0, 4000))
def test_random_mime(head: bytes, body: bytes, cut: int) -> None:
    raw = head + b"\r\n" + body
    _check(raw)
    _check(raw[:cut])  # truncated anywhere


@settings(max_examples=50, deadline=None)
@given(st.integers(1000, 200_000), st.sampled_from([b"\x00", b"a", b"=", b"\xff"]))
def test_huge_lines_and_nuls(length: int, filler: bytes) -> None:
    _check(b"From: a@b.example\r\nSubject: " + filler * 50 + b"\r\n\r\n" + filler * length)


def test_nested_message_bomb() -> None:
    inner = b"From: x@y.example\r\nSubject: deep\r\n\r\nbottom"
    for _ in range(200):
        inner = b"From: x@y.example\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    parsed = _check(inner)
    assert parsed is not None


def _check(raw: bytes) -> object:
    try:
        parsed = parse(raw)
    except NotAMail:
        return None
    split_reply(parsed.text)
    auto_reply_reason(parsed)
    bounce(parsed, raw)
    assert isinstance(parsed.text, str) and isinstance(parsed.subject, str)
    return parsed
