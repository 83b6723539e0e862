"""The knowledge base: which text solved a ticket, and which offered solution helped."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.errors import NotFound, TiketError
from tiket.learn.index import note_change
from tiket.learn.text import normalise
from tiket.model import Direction, Entry, EntryKind, Status, Ticket, utcnow
from tiket.model.learn import Solution, SolutionSource, Suggestion, SuggestionOutcome

PROBLEM_CHARS = 4000
SOLUTION_CHARS = 20_000
SOLVED = (Status.RESOLVED, Status.CLOSED)
# "selesai 2", "solved #3", "ok nomor 1": the number of the suggestion that helped.
_RANK = re.compile(r"(?:^|\s)(?:#|no\.?\s*|nomor\s*|number\s*)?([1-9])(?:\s|$|[.,!)])")
_QUOTE_PROBE = 60  # characters of a solution that, found in a reply, say it was quoted


def problem_text(session: Session, ticket: Ticket) -> str:
    """What the requester asked: the subject and the first message."""
    first = session.scalar(
        select(Entry.body)
        .where(Entry.ticket_id == ticket.id, Entry.kind == EntryKind.MESSAGE)
        .order_by(Entry.id)
        .limit(1)
    )
    return f"{ticket.subject}\n{first or ''}".strip()[:PROBLEM_CHARS]


def last_technician_reply(session: Session, ticket: Ticket) -> Entry | None:
    """The last public technician reply before the ticket was resolved."""
    query = select(Entry).where(
        Entry.ticket_id == ticket.id,
        Entry.kind == EntryKind.REPLY,
        Entry.direction == Direction.OUT,
    )
    if ticket.resolved_at is not None:
        query = query.where(Entry.created_at <= ticket.resolved_at)
    return session.scalars(query.order_by(Entry.id.desc()).limit(1)).first()


def of_ticket(session: Session, ticket: Ticket) -> Solution | None:
    return session.scalar(select(Solution).where(Solution.ticket_id == ticket.id))


def remember(session: Session, ticket: Ticket) -> Solution | None:
    """On resolve or close: keep the marked solution, or take the last technician reply."""
    if ticket.merged_into_id is not None or ticket.status not in SOLVED:
        return None
    solution = of_ticket(session, ticket)
    if solution is not None and solution.source != SolutionSource.REPLY:
        solution.problem = problem_text(session, ticket)
        solution.updated_at = utcnow()  # solved again: the index sees the ticket as solved
        note_change()
        return solution
    reply = last_technician_reply(session, ticket)
    if reply is None or not reply.body.strip():
        return solution
    if solution is None:
        solution = Solution(ticket_id=ticket.id, created_at=utcnow())
        session.add(solution)
    solution.problem = problem_text(session, ticket)
    solution.body = reply.body.strip()[:SOLUTION_CHARS]
    solution.source = SolutionSource.REPLY
    solution.author = reply.author_address
    solution.updated_at = utcnow()
    note_change()
    session.flush()
    return solution


def withdraw(session: Session, ticket: Ticket) -> None:
    """On reopen: the solution did not solve it after all; not suggested until solved again."""
    solution = of_ticket(session, ticket)
    if solution is not None:
        solution.updated_at = utcnow()
        note_change()


def mark(session: Session, ticket: Ticket, text: str, author: str) -> Solution:
    """A technician says which text solved the ticket (`#solution …`)."""
    text = text.strip()
    if not text:
        raise TiketError("a solution needs its text, e.g. `#solution restart the router`")
    solution = of_ticket(session, ticket)
    if solution is None:
        solution = Solution(ticket_id=ticket.id, created_at=utcnow())
        session.add(solution)
    solution.problem = problem_text(session, ticket)
    solution.body = text[:SOLUTION_CHARS]
    solution.source = SolutionSource.MARKED
    solution.author = author
    solution.updated_at = utcnow()
    note_change()
    session.flush()
    return solution


def get(session: Session, solution_id: int) -> Solution:
    solution = session.get(Solution, solution_id)
    if solution is None:
        raise NotFound(f"no solution {solution_id}; `tiket kb list` shows them")
    return solution


def edit(session: Session, solution_id: int, text: str, author: str) -> Solution:
    text = text.strip()
    if not text:
        raise TiketError("the new text of a solution cannot be empty")
    solution = get(session, solution_id)
    solution.body = text[:SOLUTION_CHARS]
    solution.source = SolutionSource.EDITED
    solution.author = author or solution.author
    solution.updated_at = utcnow()
    note_change()
    return solution


def set_hidden(session: Session, solution_id: int, hidden: bool) -> Solution:
    solution = get(session, solution_id)
    solution.hidden = hidden
    solution.updated_at = utcnow()
    note_change()
    return solution


# -- what the requester was offered, and what helped -------------------------------------------


@dataclass(frozen=True)
class Offered:
    solution_id: int
    score: float


def offer(session: Session, ticket: Ticket, offered: list[Offered]) -> None:
    now = utcnow()
    for rank, item in enumerate(offered, start=1):
        session.add(
            Suggestion(
                ticket_id=ticket.id,
                solution_id=item.solution_id,
                rank=rank,
                score=round(item.score, 4),
                created_at=now,
            )
        )


def credit(session: Session, ticket: Ticket, reply: str, quoted: str = "") -> Suggestion | None:
    """After "selesai": the suggestion the requester named or quoted, else the first one.

    "selesai 2" (or "solved #2") credits the second suggestion as helped; a reply quoting one
    suggestion's text credits that one as helped; a plain "selesai" credits the first as
    accepted (the requester closed after reading them, without saying which).
    """
    offered = list(
        session.scalars(
            select(Suggestion).where(Suggestion.ticket_id == ticket.id).order_by(Suggestion.rank)
        )
    )
    if not offered or any(s.outcome != SuggestionOutcome.OFFERED for s in offered):
        return None
    chosen = _named(offered, reply) or _quoted(session, offered, reply, quoted)
    outcome = SuggestionOutcome.HELPED
    if chosen is None:
        chosen, outcome = offered[0], SuggestionOutcome.ACCEPTED
    chosen.outcome = outcome
    chosen.decided_at = utcnow()
    return chosen


def _named(offered: list[Suggestion], reply: str) -> Suggestion | None:
    first = next((line for line in reply.splitlines() if line.strip()), "")
    match = _RANK.search(first.lower())
    if match is None:
        return None
    rank = int(match.group(1))
    return next((s for s in offered if s.rank == rank), None)


def _quoted(
    session: Session, offered: list[Suggestion], reply: str, quoted: str
) -> Suggestion | None:
    """The one suggestion the requester pasted, or kept when trimming the quoted ack."""
    probes = {}
    for suggestion in offered:
        solution = session.get(Solution, suggestion.solution_id)
        probes[suggestion.rank] = _flat(solution.body if solution else "")[:_QUOTE_PROBE]
    own = [s for s in offered if probes[s.rank] and probes[s.rank] in _flat(reply)]
    if len(own) == 1:
        return own[0]
    # An untrimmed quote holds every suggestion: it names one only when the others were cut.
    kept = [s for s in offered if probes[s.rank] and probes[s.rank] in _flat(quoted)]
    return kept[0] if len(kept) == 1 and len(offered) > 1 else None


def _flat(text: str) -> str:
    return " ".join(normalise(text).replace(">", " ").split())
