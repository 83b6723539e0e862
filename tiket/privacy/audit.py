"""The access audit: who was shown a ticket's personal data, what and when; append-only.

What counts: every CLI command that prints a requester's name, address, phone number, a
subject or a message (`tickets show|list|sms`, `inbound list`, `kb list|show`, `trends`,
`people export`), one row per ticket shown; and the public `/status/NUMBER` page, which
masks addresses and phone numbers but still shows first names and the text people wrote:
its visitor is anonymous, so the row names the page (`PUBLIC`), never the visitor's address.
Rows are refused UPDATE and DELETE by the ORM here and by database triggers (migration 0010).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.errors import PermanentError
from tiket.model import AccessAudit, Requester, Ticket
from tiket.privacy.redact import phone_forms


@event.listens_for(AccessAudit, "before_update")
@event.listens_for(AccessAudit, "before_delete")
def _append_only(_mapper: Any, _connection: Any, row: AccessAudit) -> None:
    raise PermanentError(f"the access audit is append-only (row {row.id})")


def operator_name(settings: Settings) -> str:
    """The configured `[privacy] operator`, or else the operating-system user."""
    if settings.privacy.operator:
        return settings.privacy.operator
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record(session: Session, operator: str, action: str, ticket: Ticket) -> AccessAudit:
    """Note that `operator` was shown `ticket`'s personal data; in the caller's transaction."""
    row = AccessAudit(
        operator=operator,
        action=action,
        ticket_number=ticket.number,
        requester_id=ticket.requester_id,
    )
    session.add(row)
    session.flush()
    return row


PUBLIC = "public (anonymous visitor)"


def record_numbers(session: Session, operator: str, action: str, numbers: Iterable[str]) -> int:
    """Note that `operator` was shown these tickets (a list); returns the rows written."""
    wanted = sorted(set(numbers))
    if not wanted:
        return 0
    found = session.execute(
        select(Ticket.number, Ticket.requester_id).where(Ticket.number.in_(wanted))
    ).all()
    for number, requester_id in found:
        session.add(
            AccessAudit(
                operator=operator, action=action, ticket_number=number, requester_id=requester_id
            )
        )
    session.flush()
    return len(found)


def record_senders(session: Session, operator: str, action: str, senders: Iterable[str]) -> None:
    """Note messages shown that belong to no ticket yet: by their sender, where known."""
    for sender in sorted({s for s in senders if s}):
        found = find_requester(session, sender)
        session.add(
            AccessAudit(operator=operator, action=action, requester_id=found.id if found else None)
        )
    session.flush()


def record_person(session: Session, operator: str, action: str, requester_id: int) -> None:
    """Note an action on a person as a whole (an export), with no ticket."""
    session.add(AccessAudit(operator=operator, action=action, requester_id=requester_id))
    session.flush()


def find_requester(session: Session, person: str) -> Requester | None:
    """The requester with this address or phone number (addresses match in any case)."""
    person = person.strip()
    by_email = select(Requester).where(Requester.email == person.lower())
    found = session.scalars(by_email).first()
    if found is None:
        forms = sorted(phone_forms(person))
        found = session.scalars(select(Requester).where(Requester.phone.in_(forms))).first()
    return found


def entries(
    session: Session,
    ticket: str | None = None,
    requester_id: int | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """The audit rows that match, oldest first."""
    query = select(AccessAudit).order_by(AccessAudit.id)
    if ticket is not None:
        query = query.where(AccessAudit.ticket_number == ticket.upper())
    if requester_id is not None:
        query = query.where(AccessAudit.requester_id == requester_id)
    if since is not None:
        query = query.where(AccessAudit.created_at >= since)
    return [
        {
            "id": row.id,
            "at": row.created_at.isoformat(),
            "operator": row.operator,
            "action": row.action,
            "ticket": row.ticket_number,
            "requester_id": row.requester_id,
        }
        for row in session.scalars(query)
    ]
