"""Carrying out what the pipeline decided, through the desk: open, add, answer, close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tiket import teamwork
from tiket.desk import Actor, Desk
from tiket.desk_texts import apply_keyword, other_open_text, text_requester
from tiket.errors import Conflict, Discarded, PermanentError
from tiket.inbound.sms import phone_of
from tiket.learn import suggestions
from tiket.model import (
    Direction,
    EntryKind,
    MessageRef,
    Ticket,
    utcnow,
)
from tiket.outbound import limits
from tiket.rules.context import Context, Message
from tiket.rules.language import guess_language
from tiket.rules.thread_phone import TEXT_CHANNELS


@dataclass(frozen=True)
class Outcome:
    ticket_id: int | None
    summary: str


def apply(desk: Desk, ctx: Context) -> Outcome:
    """Carry out what the pipeline decided. Raises Discarded for mail kept but not ticketed."""
    message = ctx.message
    trace = [d.as_dict() for d in ctx.trace]
    author = Actor(message.sender_name, message.sender, ctx.technician_id)
    keyword = ctx.extra.get("text_keyword")
    if keyword is not None:
        summary = apply_keyword(desk, message, str(keyword), str(ctx.extra["keyword_language"]))
        return Outcome(None, summary)
    if ctx.auto_reason is not None and ctx.ticket is None:
        raise Discarded(f"automatic mail ({ctx.auto_reason}) that belongs to no ticket")
    if ctx.ticket is None:
        return _open(desk, ctx, author, trace)
    ticket = desk.ticket(ctx.ticket.number)
    if ctx.auto_reason is not None:
        _entry(desk, ticket, ctx, author, EntryKind.MESSAGE, message.visible)
        if ctx.bounce is not None and ctx.bounce.hard:
            for address in ctx.bounce.recipients:
                limits.suppress(
                    desk.session,
                    address,
                    days=desk.settings.limits.bounce_suppress_days,
                    reason=f"hard bounce on {ticket.number}",
                )
        desk.event(
            ticket,
            "automatic",
            Actor.system(),
            reason=ctx.auto_reason,
            trace=trace,
            bounced=list(ctx.bounce.recipients) if ctx.bounce else [],
        )
        return Outcome(ticket.id, f"automatic mail joined {ticket.number}, not answered")
    if ctx.is_technician:
        return _from_technician(desk, ticket, ctx, author, trace)
    return _from_requester(desk, ticket, ctx, author, trace)


def _open(desk: Desk, ctx: Context, author: Actor, trace: list[dict[str, str]]) -> Outcome:
    message = ctx.message
    if message.channel in TEXT_CHANNELS or (
        message.channel == "web" and message.sender.startswith("+")
    ):
        requester = desk.requester_by_phone(phone_of(message.sender), message.sender_name)
    elif not message.sender or "@" not in message.sender:
        raise PermanentError("the message has no sender address to answer")
    else:
        requester = desk.requester_by_email(message.sender, message.sender_name)
    language = requester.language or guess_language(
        f"{message.subject}\n{message.text}", desk.settings.mail.language
    )
    requester.language = requester.language or language
    ticket = desk.open(
        requester=requester,
        subject=message.subject,
        channel=message.channel,
        category=ctx.category,
        team=ctx.team,
        language=language,
        priority=ctx.priority,
        trace=trace,
    )
    _entry(desk, ticket, ctx, author, EntryKind.MESSAGE, message.text.strip() or message.visible)
    system = Actor.system()
    teamwork.add_watchers(desk, ticket, (*message.cc, *ctx.watchers), system)
    for name in ctx.shares:
        if ticket.team is None or name != ticket.team.name:  # never share with the owner
            teamwork.share(desk, ticket, desk.team(name), system)
    if ctx.spam:
        desk.event(ticket, "spam", system, trace=trace)
        ticket.status = "closed"
        ticket.closed_at = ticket.resolved_at = ticket.created_at
        return Outcome(ticket.id, f"opened {ticket.number} and closed it as spam")
    offered = suggestions.on_open(desk, ticket, ctx)
    desk.tell_requester(ticket, "ack", **offered)
    if ctx.answer:
        desk.answer(ticket, ctx.answer)
    desk.tell_team_new(ticket, message.text.strip(), **offered)
    return Outcome(ticket.id, f"opened {ticket.number}")


def _from_technician(
    desk: Desk, ticket: Ticket, ctx: Context, author: Actor, trace: list[dict[str, str]]
) -> Outcome:
    if not ctx.authenticated:
        _entry(desk, ticket, ctx, author, EntryKind.NOTE, ctx.body)
        desk.event(ticket, "unauthenticated", author, trace=trace)
        refused = [d for d in ctx.trace if d.stage == "commands" and d.outcome == "refused"]
        if refused:
            reason = next(d.detail for d in ctx.trace if d.stage == "author")
            desk.tell_person(
                ticket,
                "refused",
                ctx.message.sender,
                commands=refused[0].detail.split(":")[0],
                reason=reason,
            )
        return Outcome(
            ticket.id, f"unauthenticated technician mail kept as a note on {ticket.number}"
        )
    names = {command.name for command in ctx.commands}
    done = []
    texted = next((c.argument for c in ctx.commands if c.name == "sms"), None)
    if texted is not None:
        try:
            text_requester(desk, ticket, author, texted or ctx.body)
            done.append("sms")
        except Conflict as exc:  # no phone, opted out: say so; the rest of the mail still counts
            desk.event(ticket, "sms_refused", author, reason=str(exc))
            desk.tell_person(ticket, "text_refused", ctx.message.sender, reason=str(exc))
            texted = None
    if ctx.body and texted != "":  # a bare `#sms` line texts the body instead
        if "note" in names:
            _entry(desk, ticket, ctx, author, EntryKind.NOTE, ctx.body)
            done.append("note")
        else:
            entry = desk.reply(ticket, author, ctx.body)
            _remember(desk, ticket, entry_message=ctx.message, entry=entry)
            done.append("reply")
    ran, failed = teamwork.run_mail_commands(desk, ticket, ctx.commands, author)
    done += ran
    if failed:
        desk.tell_person(
            ticket,
            "command_failed",
            ctx.message.sender,
            audience=f"p{ctx.technician_id}",
            failures="\n".join(failed),
        )
    desk.event(ticket, "technician_mail", author, done=done, failed=failed, trace=trace)
    return Outcome(ticket.id, f"{', '.join(done) or 'nothing'} on {ticket.number}")


def _from_requester(
    desk: Desk, ticket: Ticket, ctx: Context, author: Actor, trace: list[dict[str, str]]
) -> Outcome:
    if _too_late_to_reopen(desk, ticket) and not ctx.close_requested:
        return _follow_up(desk, ticket, ctx, author, trace)
    _entry(desk, ticket, ctx, author, EntryKind.MESSAGE, ctx.body)
    teamwork.add_watchers(desk, ticket, ctx.message.cc, author)
    if ctx.close_requested:
        suggestions.credit(desk, ticket, ctx.body, ctx.message.quoted, author)
        if ticket.status != "closed":
            desk.close(ticket, author, by_requester=True, body="")
        return Outcome(ticket.id, f"closed {ticket.number} by keyword")
    what = "Balasan pelapor" if ticket.language == "id" else "Requester replied"
    if not ticket.is_open:
        desk.reopen(ticket, author)
        what = "Dibuka kembali oleh pelapor" if ticket.language == "id" else "Reopened by requester"
    elif ticket.status == "pending":
        ticket.status = "open"
    desk.tell_team(ticket, what, author, ctx.body)
    others = ctx.extra.get("other_open")
    if others:
        other_open_text(desk, ticket, list(others))
    desk.event(ticket, "requester_mail", author, trace=trace)
    return Outcome(ticket.id, f"message added to {ticket.number}")


def _too_late_to_reopen(desk: Desk, ticket: Ticket) -> bool:
    if ticket.status != "closed" or ticket.closed_at is None:
        return False
    return utcnow() - ticket.closed_at > timedelta(days=desk.settings.mail.reopen_days)


def _follow_up(
    desk: Desk, old: Ticket, ctx: Context, author: Actor, trace: list[dict[str, str]]
) -> Outcome:
    """A reply long after closing: a new ticket, linked to the old one, in the same hands."""
    message = ctx.message
    ticket = desk.open(
        requester=old.requester,
        subject=message.subject or old.subject,
        channel=message.channel,
        category=old.category.slug if old.category else None,
        team=old.team.name if old.team else None,
        language=old.language,
        priority=old.priority,
        trace=trace,
    )
    ticket.follows = old
    _entry(desk, ticket, ctx, author, EntryKind.MESSAGE, ctx.body)
    desk.event(ticket, "follows", author, number=old.number)
    desk.event(old, "followed_by", author, number=ticket.number)
    desk.tell_requester(ticket, "ack")
    desk.tell_team_new(ticket, ctx.body)
    return Outcome(ticket.id, f"opened {ticket.number} following closed {old.number}")


def _entry(desk: Desk, ticket: Ticket, ctx: Context, author: Actor, kind: str, body: str) -> None:
    message = ctx.message
    direction = Direction.INTERNAL if kind == EntryKind.NOTE else Direction.IN
    entry = desk.add_entry(
        ticket,
        kind=kind,
        channel=message.channel,
        direction=direction,
        author=author,
        body=body,
        subject=message.subject,
        quoted=message.quoted,
        message_id=message.message_id,
        inbound_id=message.inbound_id,
        auto_reason=ctx.auto_reason,
        attachments=message.attachments,
    )
    _remember(desk, ticket, entry_message=message, entry=entry)


def _remember(desk: Desk, ticket: Ticket, *, entry_message: Message, entry: object) -> None:
    """Store the inbound Message-ID so that later replies to it find this ticket."""
    message_id = entry_message.message_id
    if message_id and desk.session.get(MessageRef, message_id) is None:
        desk.session.add(MessageRef(message_id=message_id, ticket_id=ticket.id, direction="in"))
