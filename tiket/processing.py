"""Processing one inbound row: parse it, run the pipeline, and let the desk apply the decision."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.desk import Actor, Desk
from tiket.errors import Discarded, PermanentError, TemporaryError
from tiket.inbound.parse import ParsedMessage, parse
from tiket.inbound.quotes import split_reply
from tiket.model import (
    Category,
    Direction,
    EntryKind,
    InboundMessage,
    InboundState,
    MessageRef,
    Team,
    Technician,
    Ticket,
    team_members,
    utcnow,
)
from tiket.model.db import Database
from tiket.rules import pipeline
from tiket.rules.context import Context, Message, TicketRef
from tiket.rules.language import guess_language

log = logging.getLogger(__name__)


class DbLookup:
    """The read-only questions of the pipeline, answered from the current transaction."""

    def __init__(self, session: Session, settings: Settings, secret: bytes) -> None:
        self.session = session
        self.settings = settings
        self._secret = secret

    def secret(self) -> bytes:
        return self._secret

    def ticket_by_number(self, number: str) -> TicketRef | None:
        ticket = self.session.scalar(select(Ticket).where(Ticket.number == number))
        return _ref(ticket) if ticket else None

    def ticket_by_message_ids(self, message_ids: tuple[str, ...]) -> tuple[TicketRef, str] | None:
        wanted = [m for m in message_ids if m][:50]
        if not wanted:
            return None
        rows = self.session.execute(
            select(MessageRef.message_id, MessageRef.ticket_id, MessageRef.recipient).where(
                MessageRef.message_id.in_(wanted)
            )
        ).all()
        by_id = {row.message_id: row for row in rows}
        # In-Reply-To first, then References newest first: prefer the direct parent.
        for message_id in wanted:
            row = by_id.get(message_id)
            if row is not None:
                ticket = self.session.get(Ticket, row.ticket_id)
                if ticket is not None:
                    return _ref(ticket), row.recipient
        return None

    def technician_id(self, address: str) -> int | None:
        return self.session.scalar(select(Technician.id).where(Technician.email == address.lower()))

    def technician_may_act(self, technician_id: int, ticket: TicketRef) -> bool:
        if ticket.team_id is None:
            return True
        member = self.session.execute(
            select(team_members.c.team_id).where(
                team_members.c.technician_id == technician_id,
                team_members.c.team_id == ticket.team_id,
            )
        ).first()
        return member is not None

    def technician_recipients(self, technician_id: int) -> tuple[str, ...]:
        technician = self.session.get(Technician, technician_id)
        if technician is None:
            return ()
        return (technician.email, *(team.mailbox.lower() for team in technician.teams))

    def own_addresses(self) -> tuple[str, ...]:
        return tuple({self.settings.mail.address.lower(), self.settings.from_address.lower()})

    def category_keywords(self) -> list[tuple[str, tuple[str, ...]]]:
        rows = self.session.execute(
            select(Category.slug, Category.keywords).order_by(Category.position, Category.id)
        ).all()
        return [(slug, tuple(keywords or ())) for slug, keywords in rows]

    def category_team(self, slug: str) -> str | None:
        return self.session.scalar(
            select(Team.name)
            .join(Category, Category.team_id == Team.id)
            .where(Category.slug == slug)
        )

    def close_keywords(self) -> tuple[str, ...]:
        return self.settings.mail.close_keywords


def _ref(ticket: Ticket) -> TicketRef:
    return TicketRef(ticket.id, ticket.number, ticket.status, ticket.requester_id, ticket.team_id)


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
    )


@dataclass(frozen=True)
class Outcome:
    ticket_id: int | None
    summary: str


def apply(desk: Desk, ctx: Context) -> Outcome:
    """Carry out what the pipeline decided. Raises Discarded for mail kept but not ticketed."""
    message = ctx.message
    trace = [d.as_dict() for d in ctx.trace]
    author = Actor(message.sender_name, message.sender, ctx.technician_id)
    if ctx.auto_reason is not None and ctx.ticket is None:
        raise Discarded(f"automatic mail ({ctx.auto_reason}) that belongs to no ticket")
    if ctx.ticket is None:
        return _open(desk, ctx, author, trace)
    ticket = desk.ticket(ctx.ticket.number)
    if ctx.auto_reason is not None:
        _entry(desk, ticket, ctx, author, EntryKind.MESSAGE, message.visible)
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
    if not message.sender or "@" not in message.sender:
        raise PermanentError("the message has no sender address to answer")
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
    desk.tell_requester(ticket, "ack")
    desk.tell_team_new(ticket, message.text.strip())
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
    if ctx.body:
        if "note" in names:
            _entry(desk, ticket, ctx, author, EntryKind.NOTE, ctx.body)
            done.append("note")
        else:
            entry = desk.reply(ticket, author, ctx.body)
            _remember(desk, ticket, entry_message=ctx.message, entry=entry)
            done.append("reply")
    if "reopen" in names and not ticket.is_open:
        desk.reopen(ticket, author)
        done.append("reopen")
    if "close" in names and ticket.status != "closed":
        desk.close(ticket, author, by_requester=False)
        done.append("close")
    for name in sorted(names - {"note", "reopen", "close"}):
        desk.event(ticket, "command_not_supported", author, command=name)
    desk.event(ticket, "technician_mail", author, done=done, trace=trace)
    return Outcome(ticket.id, f"{', '.join(done) or 'nothing'} on {ticket.number}")


def _from_requester(
    desk: Desk, ticket: Ticket, ctx: Context, author: Actor, trace: list[dict[str, str]]
) -> Outcome:
    _entry(desk, ticket, ctx, author, EntryKind.MESSAGE, ctx.body)
    if ctx.close_requested:
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
    desk.event(ticket, "requester_mail", author, trace=trace)
    return Outcome(ticket.id, f"message added to {ticket.number}")


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
        desk.session.flush()


# -- the processing loop's unit of work ------------------------------------------------------


def claim_batch(db: Database, limit: int) -> list[int]:
    """Ids of queued rows that are due, oldest first."""
    with db.session() as session:
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.state == InboundState.QUEUED)
                .where(InboundMessage.next_attempt_at <= utcnow())
                .order_by(InboundMessage.id)
                .limit(limit)
            )
        )


def process_one(db: Database, settings: Settings, secret: bytes, inbound_id: int) -> str | None:
    """Process one row in one transaction; returns what happened, None when another took it."""
    with db.session() as session:
        query = select(InboundMessage).where(
            InboundMessage.id == inbound_id, InboundMessage.state == InboundState.QUEUED
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        row = session.scalar(query)
        if row is None:
            return None
        row.attempts += 1
        try:
            with session.begin_nested():
                outcome = _process(session, settings, secret, row)
        except TemporaryError:
            raise
        except Discarded as exc:
            _finish(row, InboundState.DISCARDED, str(exc))
            return f"discarded: {exc}"
        except PermanentError as exc:
            _finish(row, InboundState.FAILED, str(exc))
            log.warning("action=quarantined inbound=%d reason=%s", row.id, exc)
            return f"quarantined: {exc}"
        except Exception as exc:  # a bug must not lose the message: quarantine it with the reason
            log.exception("action=quarantined inbound=%d", row.id)
            _finish(row, InboundState.FAILED, f"{type(exc).__name__}: {exc}")
            return f"quarantined: {type(exc).__name__}: {exc}"
        _finish(row, InboundState.DONE, None)
        row.ticket_id = outcome.ticket_id
        return outcome.summary


def _process(session: Session, settings: Settings, secret: bytes, row: InboundMessage) -> Outcome:
    if row.raw is None:
        raise PermanentError("the stored original is gone (erased or expired)")
    parsed = parse(row.raw)
    message = to_message(row, parsed)
    ctx = pipeline.run(message, DbLookup(session, settings, secret))
    desk = Desk(session, settings, secret)
    outcome = apply(desk, ctx)
    session.flush()
    return outcome


def _finish(row: InboundMessage, state: InboundState, error: str | None) -> None:
    row.state = state
    row.error = error
    row.processed_at = utcnow()


def postpone(db: Database, inbound_id: int, delay: timedelta) -> None:
    with db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is not None:
            row.next_attempt_at = utcnow() + delay
