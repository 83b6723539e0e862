"""Taking people out of text and JSON: addresses, phone numbers and given words go."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tiket.gateway.masking import _EMAIL, _PHONE

ERASED = "[erased]"


def phone_forms(phone: str) -> set[str]:
    """The ways one number is written: +62812…, 62812…, 0812…"""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    forms = {phone, digits, "+" + digits}
    if digits.startswith("62"):
        forms.add("0" + digits[2:])
    return {form for form in forms if len(form) >= 6}


class Redactor:
    """Removes every address and phone number, and the person's own words (name, identifiers)."""

    def __init__(self, words: Iterable[str]) -> None:
        literal = sorted({w for w in words if w and len(w) >= 3}, key=len, reverse=True)
        self._words = (
            re.compile("|".join(re.escape(w) for w in literal), re.IGNORECASE) if literal else None
        )

    def text(self, text: str) -> str:
        if not text:
            return text
        if self._words is not None:
            text = self._words.sub(ERASED, text)
        return _PHONE.sub(ERASED, _EMAIL.sub(ERASED, text))

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        return value
