"""Twilio's webhooks: inbound SMS/WhatsApp and delivery status callbacks, signed or refused."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.twiml.messaging_response import MessagingResponse

from tiket.desk import Desk
from tiket.desk_texts import apply_delivery_status
from tiket.errors import TemporaryError
from tiket.inbound.sms import (
    BadWebhook,
    TextStore,
    arrival,
    fetch_media,
    form_fields,
    is_signed,
    text_form,
)

if TYPE_CHECKING:
    from tiket.gateway.http import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 65_536  # a Twilio webhook is a few KB of form fields


def routes(services: Services) -> list[BaseRoute]:
    return [
        Route("/twilio/sms", partial(inbound_text, services), methods=["POST"]),
        Route("/twilio/status", partial(delivery_status, services), methods=["POST"]),
    ]


def empty_twiml() -> Response:
    return Response(str(MessagingResponse()), media_type="application/xml")


def public_url(services: Services, request: Request) -> str:
    """The URL Twilio signed: ours as the world sees it (https behind a TLS proxy)."""
    url = services.settings.http.public_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def signed_fields(services: Services, request: Request) -> tuple[bytes, dict[str, str]]:
    """The body and its fields; raises _Refused unless Twilio signed exactly this."""
    raw = b""
    async for chunk in request.stream():  # read at most the limit, whatever the client claims
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise _Refused(413, "body too large")
    fields = form_fields(raw)
    signature = request.headers.get("x-twilio-signature", "")
    if not is_signed(services.settings.twilio, public_url(services, request), fields, signature):
        why = "missing signature" if not signature else "bad signature"
        peer = request.client.host if request.client else "-"
        log.warning("action=webhook_refused path=%s peer=%s reason=%s", request.url.path, peer, why)
        raise _Refused(403, why)
    return raw, fields


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> Response:
        return PlainTextResponse(self.reason, status_code=self.status)


async def inbound_text(services: Services, request: Request) -> Response:
    """Commit the text (idempotent on MessageSid), then answer 200 with empty TwiML."""
    try:
        raw, fields = await signed_fields(services, request)
        form = text_form(fields)
    except _Refused as refused:
        return refused.response()
    except BadWebhook as exc:
        log.warning("action=webhook_bad path=%s reason=%s", request.url.path, exc)
        return PlainTextResponse(str(exc), status_code=400)
    item = arrival(form, raw)
    store = TextStore(services.db)
    try:
        known = await run_in_threadpool(store.known, item.idempotency_key)
        if known is not None:
            log.info("action=text_duplicate inbound=%d sid=%s", known, form.sid)
            return empty_twiml()
        media = await fetch_media(services.settings.twilio, form)
        accepted = await run_in_threadpool(store.accept, item, media)
    except TemporaryError as exc:
        log.warning("action=text_tempfail sid=%s error=%s", form.sid, exc)
        return PlainTextResponse("temporary failure, try again", status_code=503)
    log.info(
        "action=text_accepted inbound=%d duplicate=%s channel=%s media=%d",
        accepted.id,
        accepted.duplicate,
        item.channel,
        len(media),
    )
    services.wake()
    return empty_twiml()


async def delivery_status(services: Services, request: Request) -> Response:
    """Record Twilio's delivery report on the outbox row; failures fall back to mail."""
    try:
        _, fields = await signed_fields(services, request)
    except _Refused as refused:
        return refused.response()
    sid = fields.get("MessageSid", "")
    status = fields.get("MessageStatus", "") or fields.get("SmsStatus", "")
    if not sid or not status:
        return PlainTextResponse("the callback has no MessageSid or MessageStatus", 400)

    def apply() -> str:
        with services.db.session() as session:
            desk = Desk(session, services.settings, services.secret)
            return apply_delivery_status(desk, sid, status, fields.get("ErrorCode", ""))

    try:
        summary = await run_in_threadpool(apply)
    except TemporaryError as exc:
        log.warning("action=status_tempfail sid=%s error=%s", sid, exc)
        return PlainTextResponse("temporary failure, try again", status_code=503)
    log.info("action=delivery_status sid=%s status=%s result=%s", sid, status, summary)
    services.wake()
    return Response(status_code=200)
