"""Twilio webhooks in: the signature check, the form as a typed text, media, the durable store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from twilio.request_validator import RequestValidator

from tiket.config import TwilioSettings
from tiket.errors import DatabaseUnavailable, PermanentError
from tiket.inbound.store import Accepted, Arrival, InboundStore
from tiket.model import InboundMedia, InboundMessage
from tiket.model.db import Database

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

WHATSAPP_PREFIX = "whatsapp:"
MAX_MEDIA_ITEMS = 10  # Twilio sends at most 10 media items with one message
MEDIA_TIMEOUT_SECONDS = 8.0  # Twilio waits 15 s for our answer: fetch, commit, answer within it


class BadWebhook(PermanentError):
    """The webhook is signed but lacks what every Twilio message carries."""


@dataclass(frozen=True)
class Media:
    """One fetched media item, or why it could not be fetched."""

    url: str
    content_type: str
    data: bytes | None = None
    error: str | None = None


@dataclass(frozen=True)
class TextForm:
    """An inbound SMS or WhatsApp message as Twilio posted it."""

    sid: str
    sender: str  # +62... or whatsapp:+62...
    to: str
    body: str
    media: tuple[tuple[str, str], ...]  # (url, content type)
    profile_name: str = ""

    @property
    def channel(self) -> str:
        return "whatsapp" if self.sender.startswith(WHATSAPP_PREFIX) else "sms"


def form_fields(raw: bytes) -> dict[str, str]:
    """The urlencoded body as a dict (Twilio never repeats a key)."""
    return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))


def is_signed(
    settings: TwilioSettings, url: str, fields: Mapping[str, str], signature: str
) -> bool:
    """True when Twilio signed this URL and these fields with our auth token."""
    if not settings.auth_token or not signature:
        return False
    return bool(RequestValidator(settings.auth_token).validate(url, dict(fields), signature))


def text_form(fields: Mapping[str, str]) -> TextForm:
    """The fields of one inbound message; raises BadWebhook when a required one is missing."""
    sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
    sender = fields.get("From", "").strip()
    if not sid or not sender:
        raise BadWebhook("the webhook has no MessageSid or From")
    try:
        count = min(int(fields.get("NumMedia", "0") or 0), MAX_MEDIA_ITEMS)
    except ValueError:
        raise BadWebhook(f"NumMedia is not a number: {fields.get('NumMedia')!r}") from None
    media = tuple(
        (fields[f"MediaUrl{i}"], fields.get(f"MediaContentType{i}", ""))
        for i in range(count)
        if fields.get(f"MediaUrl{i}")
    )
    return TextForm(
        sid=sid,
        sender=sender,
        to=fields.get("To", ""),
        body=fields.get("Body", ""),
        media=media,
        profile_name=fields.get("ProfileName", ""),
    )


def arrival(form: TextForm, raw: bytes) -> Arrival:
    return Arrival(
        raw=raw,
        channel=form.channel,
        idempotency_key=f"twilio:{form.sid}",
        source="twilio",
        envelope_from=form.sender,
        envelope_to=(form.to,),
        meta={"media": len(form.media)},
    )


async def fetch_media(settings: TwilioSettings, form: TextForm) -> list[Media]:
    """Fetch every media item, each at most max_media_bytes; a failure is recorded, not raised."""
    if not form.media:
        return []
    import httpx  # with its CLI's Pygments: only when a text carries media

    auth = (settings.account_sid, settings.auth_token)
    timeout = httpx.Timeout(MEDIA_TIMEOUT_SECONDS)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True, auth=auth) as client:
        return list(
            await asyncio.gather(
                *(_fetch(client, url, kind, settings.max_media_bytes) for url, kind in form.media)
            )
        )


async def _fetch(client: httpx.AsyncClient, url: str, kind: str, limit: int) -> Media:
    import httpx

    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                return Media(url, kind, error=f"HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > limit:
                return Media(url, kind, error=f"too large ({declared} bytes, limit {limit})")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    return Media(url, kind, error=f"too large (over {limit} bytes)")
                chunks.append(chunk)
            kind = kind or response.headers.get("content-type", "application/octet-stream")
            return Media(url, kind, data=b"".join(chunks))
    except (httpx.HTTPError, ValueError) as exc:
        return Media(url, kind, error=f"not fetched: {type(exc).__name__}: {exc}")


class TextStore:
    """Commits a text and its media in one transaction; a known MessageSid is a normal outcome."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = InboundStore(db)

    def known(self, key: str) -> int | None:
        with self.db.session() as session:
            return session.scalar(
                select(InboundMessage.id).where(InboundMessage.idempotency_key == key)
            )

    def accept(self, item: Arrival, media: Sequence[Media]) -> Accepted:
        try:
            with self.db.session() as session:
                accepted = self.store.insert(session, item)
                if accepted.duplicate:
                    return accepted
                for position, medium in enumerate(media):
                    session.add(
                        InboundMedia(
                            inbound_id=accepted.id,
                            position=position,
                            url=medium.url,
                            content_type=medium.content_type[:200],
                            size=len(medium.data or b""),
                            data=medium.data,
                            error=medium.error,
                        )
                    )
                return accepted
        except DBAPIError as exc:
            raise DatabaseUnavailable(f"cannot store inbound text: {exc.orig}") from exc


def phone_of(address: str) -> str:
    """The E.164 number of an SMS or WhatsApp address."""
    return address.removeprefix(WHATSAPP_PREFIX).strip()
