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
    r"^(?P<base>[^+@]+)\+(?P<number>tkt-?[0-9a-z]{4}-?[0-9a-z]{4})"
    r"(?:\.(?P<audience>[tp][0-9]{1,9}))?\.(?P<mac>[0-9a-z]{10,})@(?P<domain>.+)$",
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


def _mac(secret: bytes, number: str, audience: str = "") -> str:
    message = f"{number.upper()}|{audience.lower()}" if audience else number.upper()
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:8], "big")
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(MAC_CHARS)).lower()


def reply_address(helpdesk: str, number: str, secret: bytes, audience: str = "") -> str:
    """helpdesk+tkt-xxxx-xxxx[.audience].<mac>@domain: a reply to it finds its ticket.

    The audience says to whom we sent it: "" the requester and watchers, "t<id>" a team's
    mailbox, "p<id>" one technician. It is signed with the number, so a requester who knows
    their own reply address cannot make one that passes as a team's.
    """
    local, _, domain = helpdesk.partition("@")
    middle = f"{number.lower()}.{audience.lower()}" if audience else number.lower()
    return f"{local}+{middle}.{_mac(secret, number, audience)}@{domain}"


def verify_reply_address(address: str, secret: bytes) -> tuple[str, str] | None:
    """(ticket number, audience) of a signed reply address, or None when it is not ours."""
    match = SIGNED_RE.match(address.strip())
    if match is None:
        return None
    number = normalise_number(match.group("number"))
    if number is None:
        return None
    audience = (match.group("audience") or "").lower()
    if not hmac.compare_digest(match.group("mac").lower(), _mac(secret, number, audience)):
        return None
    return number, audience
