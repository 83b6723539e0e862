"""Thread stage: which ticket is this message about? First hit wins, and the trace says which."""

from __future__ import annotations

from tiket.ids import find_numbers, verify_reply_address
from tiket.rules.context import Context, Lookup


def thread(ctx: Context, lookup: Lookup) -> Context:
    message = ctx.message
    secret = lookup.secret()
    for address in message.recipients:
        signed = verify_reply_address(address, secret)
        if signed is None:
            continue
        number, audience = signed
        ticket = lookup.ticket_by_number(number)
        if ticket is not None:
            return ctx.decide(
                "thread",
                "hit",
                f"signed reply address {address}",
                ticket=ticket,
                thread_via="signed-address",
                extra={**ctx.extra, "audience": audience},
            )
    refs = message.refs
    if ctx.bounce is not None and ctx.bounce.original_message_id:
        refs = (ctx.bounce.original_message_id, *refs)
    found = lookup.ticket_by_message_ids(refs) if refs else None
    if found is not None:
        ticket, sent_to = found
        via = "message-id-sent" if sent_to else "message-id-received"
        return ctx.decide(
            "thread",
            "hit",
            f"{via} (in reply to a message of {ticket.number})",
            ticket=ticket,
            thread_via=via,
            extra={**ctx.extra, "sent_to": sent_to},
        )
    subjects = [message.subject]
    if ctx.bounce is not None and ctx.bounce.original_subject:
        subjects.append(ctx.bounce.original_subject)
    for subject in subjects:
        for number in find_numbers(subject):
            ticket = lookup.ticket_by_number(number)
            if ticket is not None:
                return ctx.decide(
                    "thread",
                    "hit",
                    f"subject tag {number}",
                    ticket=ticket,
                    thread_via="subject-tag",
                )
    return ctx.decide("thread", "miss", "no signed address, known Message-ID or ticket tag")
