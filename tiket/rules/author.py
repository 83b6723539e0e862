"""Author stage: is the sender a technician, and does the thread prove we wrote to them?"""

from __future__ import annotations

from tiket.rules.context import Context, Lookup


def author(ctx: Context, lookup: Lookup) -> Context:
    technician_id = lookup.technician_id(ctx.message.sender) if ctx.message.sender else None
    if technician_id is None:
        return ctx.decide("author", "requester", ctx.message.sender or "unknown sender")
    if ctx.ticket is None:
        return ctx.decide(
            "author",
            "technician-new",
            "a technician writing a new request",
            technician_id=technician_id,
        )
    # Fail closed: only a thread that proves we sent this person a message authenticates them.
    proof = ""
    if ctx.thread_via == "signed-address":
        proof = "signed reply address"
    elif ctx.thread_via == "message-id-sent":
        sent_to = str(ctx.extra.get("sent_to", ""))
        if sent_to in lookup.technician_recipients(technician_id):
            proof = f"reply to our message to {sent_to}"
    may_act = lookup.technician_may_act(technician_id, ctx.ticket)
    if proof and may_act:
        return ctx.decide(
            "author",
            "technician",
            f"authenticated by {proof}",
            technician_id=technician_id,
            authenticated=True,
        )
    why = "not a member of a team that owns the ticket" if proof else "thread not authenticated"
    return ctx.decide("author", "technician-unauthenticated", why, technician_id=technician_id)
