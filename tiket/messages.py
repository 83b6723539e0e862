"""Inbound rows as the Message the pipeline takes: a mail, a text or a web report."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence

from tiket.ids import NUMBER_RE
from tiket.inbound.parse import Attachment as ParsedAttachment
from tiket.inbound.parse import ParsedMessage
from tiket.inbound.quotes import split_reply
from tiket.inbound.sms import form_fields, phone_of, text_form
from tiket.model import (
    InboundMedia,
    InboundMessage,
)
from tiket.rules.context import Message


def to_message(row: InboundMessage, parsed: ParsedMessage) -> Message:
    sender = parsed.from_.email if parsed.from_ and parsed.from_.email else row.envelope_from
    recipients = [a.lower() for a in row.envelope_to]
    recipients += [a.email for a in (*parsed.to, *parsed.cc) if a.email]
    reply = split_reply(parsed.text)
    return Message(
        inbound_id=row.id,
        channel=row.channel,
        sender=sender.lower().strip("<>"),
        sender_name=parsed.from_.name if parsed.from_ else "",
        recipients=tuple(dict.fromkeys(recipients)),
        subject=parsed.subject,
        text=parsed.text,
        visible=reply.visible,
        quoted=reply.quoted,
        message_id=parsed.message_id,
        refs=(*parsed.in_reply_to, *reversed(parsed.references)),
        cc=tuple(a.email for a in parsed.cc if a.email),
        attachments=parsed.attachments,
        parsed=parsed,
        source_team=str(row.meta.get("team") or "") or None if row.meta else None,
    )


def text_message(row: InboundMessage, media: Sequence[InboundMedia]) -> Message:
    """An SMS or WhatsApp row (the stored form body) as the same Message a mail becomes."""
    form = text_form(form_fields(row.raw or b""))
    text = form.body.strip()
    attachments = tuple(
        ParsedAttachment(
            f"media-{m.position + 1}{_extension(m.content_type)}", m.content_type, m.data
        )
        for m in media
        if m.data is not None
    )
    missing = [f"[media not stored: {m.content_type or '?'} {m.error}]" for m in media if m.error]
    text = "\n".join([text, *missing]).strip()
    # No ticket number in the subject: the mail thread stage would trust it as a tag, and for
    # texts only thread_phone decides (a number counts only when it is this phone's).
    first = " ".join(NUMBER_RE.sub("", text.splitlines()[0] if text else "").split())
    return Message(
        inbound_id=row.id,
        channel=row.channel,
        sender=form.sender.lower(),
        sender_name=form.profile_name,
        recipients=(form.to.lower(),),
        subject=first[:80] or f"{row.channel.upper()} {phone_of(form.sender)}",
        text=text,
        visible=text,
        quoted="",
        message_id=None,
        attachments=attachments,
    )


def _extension(content_type: str) -> str:
    return mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
