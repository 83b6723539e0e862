"""`/` and `/report`: the problem report form, stored through the same inbound queue as mail."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from tiket.errors import TemporaryError
from tiket.gateway import csrf
from tiket.gateway.public_status import limited
from tiket.gateway.ratelimit import RateLimiter
from tiket.gateway.webpage import Page, client_key, page, render
from tiket.inbound.parse import Attachment
from tiket.inbound.store import Arrival, InboundStore
from tiket.inbound.web import FormProblems, ReportForm, check_form, to_raw
from tiket.model import Category, InboundMessage, InboundState, Ticket
from tiket.model.db import Database
from tiket.model.seed import describe

if TYPE_CHECKING:
    from tiket.gateway.http import Services

log = logging.getLogger(__name__)

PURPOSE = "report"
HONEYPOT = "website"
FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FIELDS_BYTES = 262_144  # every text field together; the rest of a request is attachments
WAIT_FOR_TICKET = 5.0  # seconds the answer waits for the processor before "being processed"


@dataclass(frozen=True)
class CategoryChoice:
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class Receipt:
    state: str  # done, queued, failed
    number: str | None


class TooLarge(Exception):
    """The request body is over the limit."""


def routes(services: Services) -> list[BaseRoute]:
    if not services.settings.web.enabled:
        return []
    limiter = RateLimiter(services.settings.web.status_lookups_per_minute)
    return [
        Route("/", partial(form_page, services), methods=["GET"]),
        Route("/report", partial(submit, services, limiter), methods=["POST"]),
        Route("/report/sent/{token}", partial(sent_page, services), methods=["GET"]),
    ]


def body_limit(services: Services) -> int:
    web = services.settings.web
    return FIELDS_BYTES + web.max_attachments * (web.max_attachment_bytes + 4096)


def megabytes(size: int) -> str:
    return f"{size / 1_048_576:.0f} MB" if size >= 1_048_576 else f"{size // 1024} KB"


async def form_page(services: Services, request: Request) -> Response:
    return await show_form(services, page(request, services), {}, {})


async def show_form(
    services: Services,
    view: Page,
    values: dict[str, str],
    problems: dict[str, str],
    status: int = 200,
) -> Response:
    categories = await run_in_threadpool(category_choices, services.db, view.lang)
    web = services.settings.web
    return render(
        view,
        "report_form.html",
        status=status,
        csrf_purpose=PURPOSE,
        categories=categories,
        values=values,
        problems=problems,
        form_token=values.get("form_token") or secrets.token_urlsafe(18),
        max_files=web.max_attachments,
        max_size=megabytes(web.max_attachment_bytes),
        honeypot=HONEYPOT,
    )


def category_choices(db: Database, lang: str) -> list[CategoryChoice]:
    with db.session() as session:
        rows = session.scalars(select(Category).order_by(Category.position, Category.id)).all()
        return [
            CategoryChoice(c.slug, c.name(lang), describe(c.slug, c.description, lang))
            for c in rows
        ]


async def submit(services: Services, limiter: RateLimiter, request: Request) -> Response:
    view = page(request, services)
    wait = limiter.take(client_key(request))
    if wait is not None:
        log.info("action=rate_limited path=/report client=%s", client_key(request))
        return limited(view, wait)
    web = services.settings.web
    try:
        body = await read_body(request, body_limit(services))
        form = await parse_form(request, body, web.max_attachments + 1)
    except TooLarge:
        return too_large(view, services)
    except MultiPartException as exc:
        if "too many files" in str(exc).lower():
            return await show_form(services, view, {}, {"attachments": "too_many_files"}, 413)
        return render(view, "csrf.html", status=400)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf.is_valid(request, services.secret, PURPOSE, values.get(csrf.FIELD, "")):
        log.info("action=csrf_refused path=/report client=%s", client_key(request))
        return render(view, "csrf.html", status=403)
    token = values.get("form_token", "")
    if not FORM_TOKEN.match(token):
        return render(view, "csrf.html", status=400)
    if values.get(HONEYPOT):
        # A bot filled the field people never see: thank it, store nothing.
        log.info("action=honeypot client=%s", client_key(request))
        return render(view, "sent.html", receipt=Receipt("failed", None))
    files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename]
    attachments, problem = await read_attachments(
        files, web.max_attachments, web.max_attachment_bytes
    )
    if problem:
        return await show_form(services, view, values, problem, 413)
    categories = {c.slug for c in await run_in_threadpool(category_choices, services.db, "en")}
    try:
        report = check_form({**values, "language": view.lang}, attachments, categories)
    except FormProblems as exc:
        return await show_form(services, view, values, exc.problems, 400)
    try:
        await store(services, report, token, client_key(request))
    except TemporaryError:
        log.warning("action=report_not_stored client=%s", client_key(request))
        return render(view, "busy.html", status=503, headers={"Retry-After": "30"})
    await wait_for_ticket(services.db, token)
    return RedirectResponse(f"/report/sent/{token}", status_code=303)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as it passes the limit (whatever Content-Length says)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_form(request: Request, body: bytes, max_files: int) -> Any:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    buffered = Request(request.scope, receive)
    return await buffered.form(max_files=max_files, max_fields=50, max_part_size=FIELDS_BYTES)


async def read_attachments(
    files: Sequence[UploadFile], max_files: int, max_bytes: int
) -> tuple[tuple[Attachment, ...], dict[str, str]]:
    if len(files) > max_files:
        return (), {"attachments": "too_many_files"}
    read = []
    for upload in files:
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            return (), {"attachments": "file_too_large", "file": upload.filename or "?"}
        content_type = (upload.content_type or "application/octet-stream")[:200]
        read.append(Attachment((upload.filename or "file")[-200:], content_type, data))
    return tuple(read), {}


def too_large(view: Page, services: Services) -> Response:
    web = services.settings.web
    return render(
        view,
        "too_large.html",
        status=413,
        size=megabytes(web.max_attachment_bytes),
        count=web.max_attachments,
    )


async def store(services: Services, report: ReportForm, token: str, client: str) -> None:
    """Committed before we answer; the form token makes a second submission the same row."""
    arrival = Arrival(
        raw=to_raw(report),
        channel="web",
        idempotency_key=f"web:{token}",
        source="web",
        envelope_from=report.sender,
        envelope_to=(services.settings.mail.address,),
        meta={"client": client},
    )
    accepted = await run_in_threadpool(InboundStore(services.db).accept, arrival)
    if not accepted.duplicate:
        services.wake()
    log.info(
        "action=web_report inbound=%d duplicate=%s client=%s",
        accepted.id,
        accepted.duplicate,
        client,
    )


async def wait_for_ticket(db: Database, token: str) -> None:
    """Give the processor a moment, so that the answer page usually shows the number."""
    deadline = time.monotonic() + WAIT_FOR_TICKET
    while time.monotonic() < deadline:
        receipt = await run_in_threadpool(receipt_of, db, token)
        if receipt is None or receipt.state != "queued":
            return
        await asyncio.sleep(0.1)


def receipt_of(db: Database, token: str) -> Receipt | None:
    with db.session() as session:
        row = session.scalar(
            select(InboundMessage).where(InboundMessage.idempotency_key == f"web:{token}")
        )
        if row is None:
            return None
        if row.state == InboundState.QUEUED:
            return Receipt("queued", None)
        ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
        if row.state == InboundState.DONE and ticket is not None:
            return Receipt("done", ticket.number)
        return Receipt("failed", None)


async def sent_page(services: Services, request: Request) -> Response:
    view = page(request, services)
    token = request.path_params.get("token", "")
    receipt = (
        await run_in_threadpool(receipt_of, services.db, token) if FORM_TOKEN.match(token) else None
    )
    if receipt is None:
        return render(view, "not_found.html", status=404)
    return render(view, "sent.html", receipt=receipt)
