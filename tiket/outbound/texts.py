"""Answers by text: which channel, opt-outs, the WhatsApp 24-hour window, queueing in the outbox."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.ids import new_message_id
from tiket.inbound.sms import WHATSAPP_PREFIX, phone_of
from tiket.model import (
    Direction,
    Entry,
    EntryKind,
    InboundMessage,
    TextOptOut,
    Ticket,
    utcnow,
)
from tiket.outbound.outbox import enqueue
from tiket.outbound.sms import render_text, shorten
from tiket.outbound.templates import LANGUAGES, environment

log = logging.getLogger(__name__)

TEXT_CHANNELS = ("sms", "whatsapp")
WHATSAPP_WINDOW = timedelta(hours=24)
REPLY_LIMIT = 1200  # characters of a technician's answer in a text; the link has the rest


def texts_enabled(settings: Settings) -> bool:
    return bool(settings.twilio.account_sid and settings.twilio.auth_token)


def address(channel: str, phone: str) -> str:
    return f"{WHATSAPP_PREFIX}{phone}" if channel == "whatsapp" else phone


def is_opted_out(session: Session, phone: str) -> bool:
    return session.get(TextOptOut, phone_of(phone)) is not None


def opt_out(session: Session, phone: str, source: str) -> bool:
    """Record that this number wants no more texts; False when it had opted out already."""
    phone = phone_of(phone)
    if session.get(TextOptOut, phone) is not None:
        return False
    session.add(TextOptOut(phone=phone, source=source, created_at=utcnow()))
    session.flush()
    log.info("action=opted_out phone=%s source=%s", phone, source)
    return True


def opt_in(session: Session, phone: str) -> bool:
    row = session.get(TextOptOut, phone_of(phone))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    log.info("action=opted_in phone=%s", phone_of(phone))
    return True


def answer_channel(session: Session, ticket: Ticket) -> str:
    """The channel of the requester's latest message on this ticket (else the one it came by)."""
    latest = session.scalar(
        select(Entry.channel)
        .where(
            Entry.ticket_id == ticket.id,
            Entry.direction == Direction.IN,
            Entry.kind == EntryKind.MESSAGE,
        )
        .order_by(Entry.id.desc())
        .limit(1)
    )
    return reply_channel(ticket, latest)


def reply_channel(ticket: Ticket, latest: str | None) -> str:
    """The channel to answer by, given that of the requester's latest message (if any)."""
    channel = latest or ticket.channel
    if channel == "web":  # the report form: answers by mail when given, else by SMS
        return "email" if ticket.requester.email else "sms"
    return channel


def in_whatsapp_window(session: Session, phone: str) -> bool:
    last = session.scalar(
        select(func.max(InboundMessage.received_at)).where(
            InboundMessage.channel == "whatsapp",
            InboundMessage.envelope_from == address("whatsapp", phone_of(phone)),
        )
    )
    return last is not None and utcnow() - last < WHATSAPP_WINDOW


def content_sid(settings: Settings, kind: str) -> str | None:
    for item in settings.twilio.whatsapp_templates:
        name, _, sid = item.partition("=")
        if name.strip() == kind:
            return sid.strip()
    return None


def has_mail_template(template: str, language: str) -> bool:
    """Some answers exist only as texts (the list of other open tickets)."""
    language = language if language in LANGUAGES else LANGUAGES[0]
    return f"{language}/{template}.txt" in environment().list_templates()


def render_answer(template: str, language: str, values: dict[str, Any]) -> str:
    """The text for an answer: its own sms_ template, else the generic status update."""
    values = dict(values)
    if "body" in values:
        values["body"] = shorten(str(values["body"]), REPLY_LIMIT)
    text = render_text(template, language, **values)
    return text if text is not None else render_text("update", language, **values) or ""


def queue_text(
    session: Session,
    settings: Settings,
    *,
    ticket_id: int | None,
    kind: str,
    channel: str,
    phone: str,
    body: str,
    variables: dict[str, str] | None = None,
    force: bool = False,
) -> str | None:
    """Queue one text; None when queued, else why it cannot go by text (fall back to email).

    WhatsApp outside the 24-hour window goes as the approved template configured for `kind`
    (else for "update": any status news), as ContentSid with `variables`; without one, as SMS.
    """
    if not texts_enabled(settings):
        return "texts are not configured ([twilio] account_sid)"
    if not phone:
        return "the requester has no phone number"
    phone = phone_of(phone)
    if not force and is_opted_out(session, phone):
        return f"{phone} opted out of texts"
    payload: bytes | None = None
    if channel == "whatsapp":
        if not settings.twilio.whatsapp_from:
            channel = "sms"
        elif not in_whatsapp_window(session, phone):
            sid = content_sid(settings, kind) or content_sid(settings, "update")
            if sid is not None and variables is not None:
                payload = json.dumps({"content_sid": sid, "variables": variables}).encode()
            else:
                log.info("action=whatsapp_window_closed phone=%s kind=%s fallback=sms", phone, kind)
                channel = "sms"
    if channel == "sms" and not settings.twilio.sms_from:
        return "no [twilio] sms_from to send SMS from"
    domain = settings.mail.address.rpartition("@")[2]
    enqueue(
        session,
        ticket_id=ticket_id,
        kind=kind,
        channel=channel,
        recipient=address(channel, phone),
        subject="",
        body=body,
        message_id=new_message_id(domain),
        payload=payload,
    )
    return None
