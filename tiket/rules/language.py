"""Which language a requester wrote in: Indonesian or English, from common words."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z]+")
INDONESIAN = frozenset(
    [
        "yang",
        "dan",
        "di",
        "ke",
        "dari",
        "tidak",
        "bisa",
        "ini",
        "itu",
        "untuk",
        "dengan",
        "ada",
        "saya",
        "kami",
        "mohon",
        "tolong",
        "sudah",
        "belum",
        "akan",
        "pada",
        "juga",
        "atau",
        "karena",
        "apakah",
        "bagaimana",
        "terima",
        "kasih",
        "bapak",
        "ibu",
        "kantor",
        "dinas",
        "mati",
        "lambat",
        "masih",
        "tidak",
        "bisa",
        "sejak",
        "hari",
        "tanggal",
        "agar",
        "segera",
    ]
)
ENGLISH = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "to",
        "of",
        "in",
        "for",
        "with",
        "not",
        "can",
        "cannot",
        "this",
        "that",
        "we",
        "our",
        "please",
        "have",
        "has",
        "been",
        "since",
        "from",
        "it",
        "on",
        "my",
        "your",
        "would",
        "could",
        "should",
        "thanks",
        "thank",
        "you",
        "any",
        "there",
        "when",
    ]
)


def guess_language(text: str, default: str) -> str:
    words = _WORD.findall(text.lower()[:4000])
    indonesian = sum(word in INDONESIAN for word in words)
    english = sum(word in ENGLISH for word in words)
    if indonesian == english:
        return default
    return "id" if indonesian > english else "en"
