"""CSRF protection for the public forms: a cookie, and a field that is its HMAC per purpose."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "tiket_csrf"
FIELD = "csrf"


def cookie_value(request: Request) -> str:
    """The browser's CSRF cookie, or a new value to set with `set_cookie`."""
    value = request.cookies.get(COOKIE, "")
    return value if _well_formed(value) else secrets.token_urlsafe(24)


def field_value(secret: bytes, cookie: str, purpose: str) -> str:
    message = f"csrf|{purpose}|{cookie}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def set_cookie(response: Response, cookie: str, *, secure: bool) -> None:
    # SameSite=Strict: another site's form posting to us arrives without it, so it fails.
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=secure, path="/")


def is_valid(request: Request, secret: bytes, purpose: str, submitted: str) -> bool:
    cookie = request.cookies.get(COOKIE, "")
    if not _well_formed(cookie) or not submitted:
        return False
    return hmac.compare_digest(field_value(secret, cookie, purpose), submitted)


def _well_formed(value: str) -> bool:
    return 16 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
