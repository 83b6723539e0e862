"""What the desk does only for texts: keywords, technician-started texts, falling back to mail."""

from __future__ import annotations

import logging

from sqlalchemy import select

from tiket.desk import Actor, Desk
from tiket.errors import Conflict
from tiket.inbound.sms import phone_of
from tiket.model import (
    Direction,
    Entry,
    EntryKind,
    OutboxMessage,
    OutboxState,
    Requester,
    Ticket,
    utcnow,
)
from tiket.outbound import texts
from tiket.outbound.sms import OPTED_OUT, render_text, shorten
from tiket.rules.context import Message

log = logging.getLogger(__name__)


def apply_keyword(desk: Desk, message: Message, action: str, language: str) -> str:
    """STOP opts the number out, START back in, HELP answers how to use the service."""
    phone = phone_of(message.sender)
    session = desk.session
    requester = session.scalar(select(Requester).where(Requester.phone == phone))
    language = (requester.language if requester else None) or language
    if action == "stop":
        changed = texts.opt_out(session, phone, "keyword")
        done = "opted out" if changed else "was opted out already"
    elif action == "start":
        changed = texts.opt_in(session, phone)
        done = "opted in" if changed else "was not opted out"
    else:
        done = "asked for help"
    # The confirmation goes even to a number that just opted out: carriers expect one.
    body = render_text(action, language, office=desk.settings.mail.office_name) or ""
    reason = texts.queue_text(
        session,
        desk.settings,
        ticket_id=None,
        kind=action,
        channel=message.channel,
        phone=phone,
        body=body,
        force=True,
    )
    log.info("action=text_keyword phone=%s keyword=%s result=%s", phone, action, done)
    return f"{phone} {done}" + (f" (no answer: {reason})" if reason else "")


def text_requester(desk: Desk, ticket: Ticket, author: Actor, body: str) -> Entry:
    """A technician's text to the requester (`#sms` by mail, `tiket tickets sms` by CLI)."""
    requester = ticket.requester
    if not requester.phone:
        raise Conflict(f"the requester of {ticket.number} has no phone number")
    if texts.is_opted_out(desk.session, requester.phone):
        raise Conflict(f"{requester.phone} opted out of texts (they can send START)")
    channel = texts.answer_channel(desk.session, ticket)
    channel = channel if channel in texts.TEXT_CHANNELS else "sms"
    values = {**desk._values(ticket), "body": body, "technician_name": author.name or "Helpdesk"}
    reason = texts.queue_text(
        desk.session,
        desk.settings,
        ticket_id=ticket.id,
        kind="reply",
        channel=channel,
        phone=requester.phone,
        body=texts.render_answer("reply", ticket.language, values),
        variables={"1": ticket.number, "2": values["status"], "3": values["status_url"]},
    )
    if reason is not None:
        raise Conflict(f"cannot text {requester.phone}: {reason}")
    entry = desk.add_entry(
        ticket,
        kind=EntryKind.REPLY,
        channel=channel,
        direction=Direction.OUT,
        author=author,
        body=body,
    )
    desk.event(ticket, "texted", author, channel=channel, to=requester.phone)
    return entry


def fall_back(desk: Desk, row: OutboxMessage, why: str) -> str:
    """A text that failed for good: WhatsApp tries SMS, then the requester's email, if any."""
    if row.ticket_id is None:
        return "no fallback for a text outside a ticket"
    ticket = desk.session.get(Ticket, row.ticket_id)
    if ticket is None:
        return "the ticket is gone"
    requester = ticket.requester
    if row.channel == "whatsapp" and requester.phone:
        reason = texts.queue_text(
            desk.session,
            desk.settings,
            ticket_id=ticket.id,
            kind=row.kind,
            channel="sms",
            phone=requester.phone,
            body=row.body,
        )
        if reason is None:
            desk.event(ticket, "text_fallback", Actor.system(), to="sms", why=why)
            return "sent again as SMS"
    if requester.email:
        desk.tell_person(
            ticket,
            "text_fallback",
            requester.email,
            body=row.body,
            phone=phone_of(row.recipient),
        )
        desk.event(ticket, "text_fallback", Actor.system(), to="email", why=why)
        return f"sent again by email to {requester.email}"
    desk.event(ticket, "text_failed", Actor.system(), to=row.recipient, why=why)
    return "no other way to reach the requester"


def other_open_text(desk: Desk, ticket: Ticket, others: list[str]) -> None:
    """Tell a requester with several open tickets where their text went, and the others."""
    desk.tell_requester(ticket, "others", others=shorten(", ".join(others), 100))


# Twilio's statuses in the order a message moves through them; failures end the line.
DELIVERY_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3}
DELIVERED = {"delivered": 4, "read": 5}
FAILURES = frozenset({"undelivered", "failed", "canceled"})


def apply_delivery_status(desk: Desk, sid: str, status: str, error_code: str) -> str:
    """A delivery status callback: update the outbox row; a failed text falls back to mail."""
    query = select(OutboxMessage).where(OutboxMessage.provider_id == sid)
    if desk.session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    row = desk.session.scalar(query)
    if row is None:
        return f"unknown MessageSid {sid}"
    old = row.delivery_status or "queued"
    if old in FAILURES or _rank(status) < _rank(old):
        return f"outbox {row.id}: {status} ignored after {old}"
    row.delivery_status = status
    row.delivery_error = error_code or None
    row.delivery_updated_at = utcnow()
    if status not in FAILURES:
        return f"outbox {row.id}: {status}"
    why = f"twilio {status}" + (f" error {error_code}" if error_code else "")
    row.state = OutboxState.FAILED
    row.last_error = why
    if error_code == str(OPTED_OUT):
        texts.opt_out(desk.session, row.recipient, "twilio-21610")
    return f"outbox {row.id}: {status}; {fall_back(desk, row, why)}"


def _rank(status: str) -> int:
    if status in FAILURES:
        return 4
    return DELIVERY_RANK.get(status, DELIVERED.get(status, 0))
