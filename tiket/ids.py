"""Identifiers we hand out: ticket numbers, Message-IDs and signed reply addresses."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# Crockford's base32: no I, L, O, U, so a number read over the phone survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
NUMBER_RE = re.compile(r"\bTKT-?([0-9A-Z]{4})-?([0-9A-Z]{4})\b", re.IGNORECASE)
SIGNED_RE = re.compile(
    r"^(?P<base>[^+@]+)\+(?P<number>tkt-?[0-9a-z]{4}-?[0-9a-z]{4})\.(?P<mac>[0-9a-z]{10,})@(?P<domain>.+)$",
    re.IGNORECASE,
)
MAC_CHARS = 10  # 10 base32 characters: 50 bits


def new_ticket_number() -> str:
    """TKT-XXXX-XXXX: 40 random bits in base32."""
    value = secrets.randbits(40)
    chars = "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"TKT-{chars[:4]}-{chars[4:]}"


def normalise_number(text: str) -> str | None:
    """The canonical form of a ticket number typed by a person, or None."""
    match = NUMBER_RE.search(text.upper().translate(_READ_AS) if text else "")
    if match is None:
        return None
    return f"TKT-{match.group(1).upper()}-{match.group(2).upper()}"


def find_numbers(text: str) -> list[str]:
    found = []
    for match in NUMBER_RE.finditer(text or ""):
        number = f"TKT-{match.group(1).upper()}-{match.group(2).upper()}"
        if number not in found:
            found.append(number)
    return found


def new_message_id(domain: str) -> str:
    return f"<{secrets.token_hex(12)}@{domain}>"


def _mac(secret: bytes, number: str) -> str:
    digest = hmac.new(secret, number.upper().encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:8], "big")
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(MAC_CHARS)).lower()


def reply_address(helpdesk: str, number: str, secret: bytes) -> str:
    """helpdesk+tkt-xxxx-xxxx.<mac>@domain: a reply to it finds its ticket, unforgeably."""
    local, _, domain = helpdesk.partition("@")
    return f"{local}+{number.lower()}.{_mac(secret, number)}@{domain}"


def verify_reply_address(address: str, secret: bytes) -> str | None:
    """The ticket number a signed reply address stands for, or None when it is not one of ours."""
    match = SIGNED_RE.match(address.strip())
    if match is None:
        return None
    number = normalise_number(match.group("number"))
    if number is None:
        return None
    if not hmac.compare_digest(match.group("mac").lower(), _mac(secret, number)):
        return None
    return number
