"""Text keywords stage: STOP/BERHENTI, START, HELP/BANTUAN sent alone as an SMS or WhatsApp."""

from __future__ import annotations

import re

from tiket.rules.context import Context, Lookup
from tiket.rules.thread_phone import TEXT_CHANNELS

# Twilio's own opt-out, opt-in and help words, and their Indonesian counterparts.
KEYWORDS = {
    "stop": frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BERHENTI"}),
    "start": frozenset({"START", "UNSTOP", "MULAI"}),
    "help": frozenset({"HELP", "INFO", "BANTUAN"}),
}
INDONESIAN = frozenset({"BERHENTI", "MULAI", "BANTUAN"})
_WORD = re.compile(r"[^\w]+", re.UNICODE)


def keyword_of(text: str) -> tuple[str, str] | None:
    """(action, the word) when the whole text is one keyword, punctuation aside."""
    word = _WORD.sub("", text).upper()
    for action, words in KEYWORDS.items():
        if word in words:
            return action, word
    return None


def text_keywords(ctx: Context, lookup: Lookup) -> Context:
    if ctx.message.channel not in TEXT_CHANNELS:
        return ctx
    found = keyword_of(ctx.message.text)
    if found is None:
        return ctx.decide("text_keywords", "none")
    action, word = found
    language = "id" if word in INDONESIAN else "en"
    return ctx.decide(
        "text_keywords",
        action,
        word,
        extra={**ctx.extra, "text_keyword": action, "keyword_language": language},
    )
