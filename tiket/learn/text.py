"""How ticket text becomes terms: Indonesian and English tokens without stop words."""

from __future__ import annotations

import re
import unicodedata


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Short, hand-kept lists: the words that say nothing about an IT problem in either language.
INDONESIAN_STOP = _words(
    """
    ada adalah agar akan aku anda apa apakah atau bagaimana bahwa baru bapak belum berapa
    bisa bu buat dalam dan dapat dari dengan di dia dong hal harus hari ibu ini itu jadi
    jika juga kalau kami kamu karena ke kenapa kepada ketika kita lagi lah mana masih mau
    melalui mohon mungkin nya oleh pada para pak per perlu saat saja sama sampai saya sejak
    sekali sebagai sedang segera selalu semua sendiri seperti setelah sudah supaya tapi
    tetapi terima kasih tersebut tolong untuk yang yth salam hormat terimakasih selamat pagi
    siang sore malam bantuannya bantu minta mengalami kendala masalah sejak tadi kemarin
    hari ini sekarang tidak tak gak nggak enggak ga bisa mau dapat sedang terus lagi ya kok
    sih
    """
)
ENGLISH_STOP = _words(
    """
    a about after again all am an and any are as at be been before being but by can could
    did do does doing for from had has have having he her here hi hello his how i if in into
    is it its just me more my no of on once only or our out please since so some still such
    than thank thanks that the their them then there these they this those to too up us very
    was we were what when where which while who why will with would you your dear regards
    morning afternoon today yesterday now help issue problem not cannot can't cant don't
    doesn't won't isn't
    """
)
STOP_WORDS = INDONESIAN_STOP | ENGLISH_STOP

_TOKEN = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9]")
# Indonesian reduplication and clitics: "komputer-komputer", "emailnya", "websitenya".
_SUFFIXES = ("nya", "lah", "kah")


def normalise(text: str) -> str:
    """Lowercase, accents folded, so "Wi‑Fi" and "wifi" meet."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if not unicodedata.combining(c)).replace("wi-fi", "wifi")


def tokens(text: str) -> list[str]:
    """The terms of a text: words of two letters or more, stop words and clitics removed."""
    found = []
    for raw in _TOKEN.findall(normalise(text)):
        word = raw.strip("._-")
        head, dash, tail = word.partition("-")
        if dash and head == tail:
            word = head
        for suffix in _SUFFIXES:
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        if len(word) > 1 and word not in STOP_WORDS:
            found.append(word)
    return found
