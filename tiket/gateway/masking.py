"""What a public page may show of people: first names, masked email addresses and phones."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Phone numbers as Indonesians write them: +62…, 62…, 0…; ticket numbers (TKT-1234-5678)
# are preceded by a letter or a dash, parts of IP addresses by a dot: they never match.
_PHONE = re.compile(r"(?<![\w+.-])(?:\+|\b)(?:62|0)[\d ().-]{6,18}\d(?![\w])")
MASK = "•••"


def first_name(name: str) -> str:
    """The first word of a display name, without quotes and titles in brackets."""
    words = [w for w in re.split(r"[\s,]+", name.replace('"', "").strip()) if w]
    words = [w for w in words if "@" not in w and not w.startswith(("(", "<"))]
    return words[0][:40] if words else ""


def mask_email(match: re.Match[str]) -> str:
    local, domain = match.group(1), match.group(2)
    tld = domain.rsplit(".", 1)[-1]
    return f"{local[0]}{MASK}@{domain[0]}{MASK}.{tld}"


def mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 8:
        return match.group(0)
    return f"{MASK}{digits[-3:]}"


def mask_text(text: str) -> str:
    return _PHONE.sub(mask_phone, _EMAIL.sub(mask_email, text))
