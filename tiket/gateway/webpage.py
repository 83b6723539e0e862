"""Rendering a public page: templates, the visitor's language, and the security headers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tiket.gateway import csrf
from tiket.gateway.web_text import LANGUAGES, text

if TYPE_CHECKING:
    from tiket.gateway.http import Services

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE = "tiket_lang"
LOGO_TYPES = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}

# No script at all, styles and images only from us, forms only to us, never framed.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Survey tokens and ticket numbers are in our URLs: never hand them to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language(request: Request, default: str) -> str:
    """?lang= (the switch), then the cookie it sets, then Accept-Language, then the office's."""
    chosen = request.query_params.get("lang", "")
    if chosen in LANGUAGES:
        return chosen
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LANGUAGES:
        return cookie
    for tag, _ in _accepted(request.headers.get("accept-language", "")):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
        if primary == "ms":  # Malay readers read Indonesian
            return "id"
    return default if default in LANGUAGES else "id"


def _accepted(header: str) -> list[tuple[str, float]]:
    ranked = []
    for part in header.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag:
            ranked.append((tag.strip(), weight))
    return sorted(ranked, key=lambda item: -item[1])


def client_key(request: Request) -> str:
    return request.client.host if request.client else "-"


@dataclass(frozen=True)
class Page:
    """What every page's template gets besides its own values."""

    request: Request
    services: Services
    lang: str

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    def switch_url(self, lang: str) -> str:
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        return f"{self.request.url.path}?{urlencode({**query, 'lang': lang})}"

    @property
    def office(self) -> str:
        return self.services.settings.mail.office_name

    @property
    def secure(self) -> bool:
        return self.services.settings.http.public_url.startswith("https://")


def page(request: Request, services: Services) -> Page:
    return Page(request, services, language(request, services.settings.mail.language))


def render(
    view: Page,
    template: str,
    *,
    status: int = 200,
    csrf_purpose: str | None = None,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> Response:
    """The page as HTML with the security headers (and a CSRF cookie when it has a form)."""
    cookie = csrf.cookie_value(view.request) if csrf_purpose else ""
    token = csrf.field_value(view.services.secret, cookie, csrf_purpose) if csrf_purpose else ""
    body = (
        environment()
        .get_template(template)
        .render(
            page=view, t=view.t, lang=view.lang, csrf_field=csrf.FIELD, csrf_token=token, **values
        )
    )
    response = HTMLResponse(
        body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
    )
    if csrf_purpose:
        csrf.set_cookie(response, cookie, secure=view.secure)
    if view.request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, view.lang, max_age=31_536_000, samesite="lax", secure=view.secure
        )
    return response


def routes(services: Services) -> list[BaseRoute]:
    """The stylesheet and the office's logo."""

    async def logo(request: Request) -> Response:
        configured = services.settings.web.logo
        path = Path(configured) if configured else STATIC / "logo.svg"
        media_type = LOGO_TYPES.get(path.suffix.lower())
        if media_type is None or not path.is_file():
            path, media_type = STATIC / "logo.svg", "image/svg+xml"
        return FileResponse(
            path,
            media_type=media_type,
            headers={
                "Cache-Control": "public, max-age=3600",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return [
        Route("/logo", logo, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
