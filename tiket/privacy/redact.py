"""Taking people out of text and JSON: addresses, phone numbers and given words go."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tiket.gateway.masking import _EMAIL, _PHONE

ERASED = "[erased]"
# How people write the parts of a phone number apart: "0812-3456 7890", "(0812) 3456.7890".
PHONE_SEPARATORS = " -.()"
_SEP = r"[ .()-]*"


def phone_forms(phone: str) -> set[str]:
    """The ways one number is written: +62812…, 62812…, 0812…"""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    forms = {phone, digits, "+" + digits}
    if digits.startswith("62"):
        forms.add("0" + digits[2:])
    return {form for form in forms if len(form) >= 6}


def national_digits(phone: str) -> str:
    """The digits after the country prefix or trunk 0: what every way of writing it shares."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("62"):
        return digits[2:]
    return digits[1:] if digits.startswith("0") else digits


def is_phone(word: str) -> bool:
    return bool(re.fullmatch(r"\+?[\d .()-]+", word)) and len(re.sub(r"\D", "", word)) >= 6


def _pattern(word: str) -> str:
    if is_phone(word):
        rest = _SEP.join(re.escape(d) for d in national_digits(word))
        return rf"(?<!\d)(?:(?:\+\s?)?62{_SEP}|0{_SEP})?{rest}(?!\d)"
    return r"\s+".join(re.escape(part) for part in word.split())


class Redactor:
    """Removes the person's own words (name, address, phone number in any spelling) and, with
    `everyone`, every other address and phone number too (their own tickets, old tickets)."""

    def __init__(self, words: Iterable[str], everyone: bool = True) -> None:
        literal = sorted({w.strip() for w in words if w and len(w.strip()) >= 3}, key=len)
        patterns = [_pattern(w) for w in reversed(literal)]  # longest first
        self._words = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None
        self._everyone = everyone

    def mentions(self, text: str) -> bool:
        """Whether the person's own words appear in `text`."""
        return self._words is not None and self._words.search(text) is not None

    def text(self, text: str) -> str:
        if not text:
            return text
        if self._words is not None:
            text = self._words.sub(ERASED, text)
        if not self._everyone:
            return text
        return _PHONE.sub(ERASED, _EMAIL.sub(ERASED, text))

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        return value
