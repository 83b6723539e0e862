"""Commands stage: `#close`, `#note` … lines from technicians, close keywords from requesters."""

from __future__ import annotations

import re

from tiket.rules.context import Command, Context, Lookup

COMMAND_LINE = re.compile(r"^\s*#([a-z]+)\b[ \t:]*(.*)$", re.IGNORECASE)
KNOWN = frozenset(
    {
        "close",
        "note",
        "reopen",
        "resolve",
        "assign",
        "forward",
        "share",
        "priority",
        "merge",
        "sms",
        "solution",
    }
)
NEGATIONS = frozenset(
    {"belum", "tidak", "tak", "not", "no", "never", "bukan", "blm", "gak", "nggak"}
)
_WORD = re.compile(r"[\w'-]+", re.UNICODE)


def commands(ctx: Context, lookup: Lookup) -> Context:
    found, body = split_commands(ctx.message.visible)
    if ctx.is_technician:
        if not found:
            return ctx.decide("commands", "none", body=body)
        names = " ".join("#" + c.name for c in found)
        if not ctx.authenticated:
            return ctx.decide(
                "commands",
                "refused",
                f"{names}: sender not authenticated",
                body=ctx.message.visible,
            )
        return ctx.decide("commands", "found", names, commands=tuple(found), body=body)
    body = ctx.message.visible
    if ctx.ticket is not None and is_close_request(body, lookup.close_keywords()):
        return ctx.decide(
            "commands", "close-keyword", first_line(body), body=body, close_requested=True
        )
    return ctx.decide("commands", "none", body=body)


def split_commands(text: str) -> tuple[list[Command], str]:
    """The known `#command` lines, and the text without them."""
    found: list[Command] = []
    kept: list[str] = []
    for line in text.splitlines():
        match = COMMAND_LINE.match(line)
        if match and match.group(1).lower() in KNOWN:
            found.append(Command(match.group(1).lower(), match.group(2).strip()))
        else:
            kept.append(line)
    return found, "\n".join(kept).strip()


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def is_close_request(text: str, keywords: tuple[str, ...]) -> bool:
    """The first line says a close keyword, with at most a few polite words and no negation."""
    words = [w.lower() for w in _WORD.findall(first_line(text))]
    if not words or len(words) > 8 or NEGATIONS.intersection(words):
        return False
    joined = " ".join(words)
    for keyword in keywords:
        kw = " ".join(_WORD.findall(keyword.lower()))
        if kw and (
            joined == kw
            or joined.startswith(kw + " ")
            or (f" {kw}" in f" {joined}" and len(words) <= 4)
        ):
            return True
    return False
