"""Thread stage for texts: a ticket number of this phone's, else its open tickets, newest first."""

from __future__ import annotations

from tiket.ids import find_numbers
from tiket.inbound.sms import phone_of
from tiket.rules.context import Context, Lookup

TEXT_CHANNELS = ("sms", "whatsapp")


def thread_phone(ctx: Context, lookup: Lookup) -> Context:
    message = ctx.message
    if message.channel not in TEXT_CHANNELS:
        return ctx
    if ctx.ticket is not None:
        return ctx.decide("thread_phone", "skip", f"already {ctx.ticket.number}")
    phone = phone_of(message.sender)
    requester_id = lookup.phone_requester_id(phone)
    for number in find_numbers(message.text):
        ticket = lookup.ticket_by_number(number)
        if ticket is not None and requester_id is not None and ticket.requester_id == requester_id:
            return ctx.decide(
                "thread_phone",
                "hit",
                f"ticket number {number} in the text",
                ticket=ticket,
                thread_via="phone-number",
            )
        ctx = ctx.decide("thread_phone", "ignored", f"{number} is not a ticket of {phone}")
    tickets = lookup.open_tickets_of_phone(phone)
    if not tickets:
        return ctx.decide("thread_phone", "miss", f"no open ticket of {phone}")
    newest, others = tickets[0], tickets[1:]
    if not others:
        return ctx.decide(
            "thread_phone",
            "hit",
            f"the single open ticket of {phone}",
            ticket=newest,
            thread_via="phone-open",
        )
    return ctx.decide(
        "thread_phone",
        "hit",
        f"newest of {len(tickets)} open tickets of {phone}",
        ticket=newest,
        thread_via="phone-newest",
        extra={**ctx.extra, "other_open": [t.number for t in others]},
    )
