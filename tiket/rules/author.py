"""Author stage: is the sender a technician, and does the thread prove we wrote to them?"""

from __future__ import annotations

from tiket.rules.authres import Verdict, verdict
from tiket.rules.context import Context, Lookup


def author(ctx: Context, lookup: Lookup) -> Context:
    message = ctx.message
    technician_id = lookup.technician_id(message.sender) if message.sender else None
    if technician_id is None:
        return ctx.decide("author", "requester", message.sender or "unknown sender")
    if ctx.ticket is None:
        return ctx.decide(
            "author",
            "technician-new",
            "a technician writing a new request",
            technician_id=technician_id,
        )
    # Fail closed: a command runs only when something positively proves who wrote it.
    proof = _thread_proof(ctx, lookup, technician_id)
    if not proof:
        return ctx.decide(
            "author",
            "technician-unauthenticated",
            "thread not authenticated: "
            "not a reply to a message we sent to this technician or their team",
            technician_id=technician_id,
        )
    if not lookup.technician_may_act(technician_id, ctx.ticket):
        return ctx.decide(
            "author",
            "technician-unauthenticated",
            "not a member of a team that owns or shares the ticket",
            technician_id=technician_id,
        )
    headers = message.parsed.headers.get("authentication-results", ()) if message.parsed else ()
    result, why = verdict(headers, message.sender, lookup.trusted_authserv_ids())
    if result is Verdict.FAIL:
        return ctx.decide("author", "technician-unauthenticated", why, technician_id=technician_id)
    return ctx.decide(
        "author",
        "technician",
        f"authenticated by {proof}; {why}",
        technician_id=technician_id,
        authenticated=True,
    )


def _thread_proof(ctx: Context, lookup: Lookup, technician_id: int) -> str:
    if ctx.thread_via == "signed-address":
        audience = str(ctx.extra.get("audience", ""))
        if audience and audience in lookup.technician_audiences(technician_id):
            return f"signed reply address for {audience}"
        return ""
    if ctx.thread_via == "message-id-sent":
        sent_to = str(ctx.extra.get("sent_to", ""))
        if sent_to in lookup.technician_recipients(technician_id):
            return f"reply to our message to {sent_to}"
    return ""
