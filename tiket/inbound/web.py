"""Problem reports from the web form: validation, the stored JSON document, and its Message."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.ids import NUMBER_RE
from tiket.inbound.parse import Attachment
from tiket.model import InboundMessage, Requester, Ticket
from tiket.rules.context import Context, Lookup, Message

FORM_VERSION = 1
MAX_NAME = 200
MAX_DESCRIPTION = 20_000
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PHONE_CHARS = re.compile(r"[\s().-]")


@dataclass(frozen=True)
class ReportForm:
    """A problem report as the requester typed it, checked."""

    name: str
    agency: str
    email: str
    phone: str  # E.164, or ""
    category: str
    description: str
    language: str
    attachments: tuple[Attachment, ...] = field(default=())

    @property
    def sender(self) -> str:
        """Who we answer: the email address when given, else the phone number."""
        return self.email or self.phone

    @property
    def subject(self) -> str:
        # No ticket numbers: the thread stage would trust one in a subject as a tag.
        first = next((line for line in self.description.splitlines() if line.strip()), "")
        return " ".join(NUMBER_RE.sub("", first).split())[:120]


class FormProblems(Exception):
    """The form has fields to correct; `problems` maps a field to a message key."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def normalise_phone(text: str) -> str | None:
    """+62… from what Indonesians type (08…, 62…, +62 …); None when it is no phone number."""
    digits = _PHONE_CHARS.sub("", text.strip())
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("0"):
        digits = "62" + digits[1:]
    if not digits.isdigit() or not 8 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


def check_form(
    values: dict[str, str], attachments: tuple[Attachment, ...], categories: set[str]
) -> ReportForm:
    """A ReportForm, or FormProblems naming every field to correct."""
    problems: dict[str, str] = {}
    name = " ".join(values.get("name", "").split())
    agency = " ".join(values.get("agency", "").split())
    email = values.get("email", "").strip().lower()
    phone_text = values.get("phone", "").strip()
    category = values.get("category", "").strip()
    description = values.get("description", "").replace("\r\n", "\n").strip()
    if not name:
        problems["name"] = "required"
    elif len(name) > MAX_NAME:
        problems["name"] = "too_long"
    if len(agency) > MAX_NAME:
        problems["agency"] = "too_long"
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        problems["email"] = "bad_email"
    phone = normalise_phone(phone_text) if phone_text else ""
    if phone is None:
        problems["phone"] = "bad_phone"
    if not email and not phone_text:
        problems["contact"] = "contact_required"
    if category not in categories:
        problems["category"] = "required"
    if not description:
        problems["description"] = "required"
    elif len(description) > MAX_DESCRIPTION:
        problems["description"] = "too_long"
    if problems:
        raise FormProblems(problems)
    return ReportForm(
        name=name,
        agency=agency,
        email=email,
        phone=phone or "",
        category=category,
        description=description,
        language=values.get("language", "id"),
        attachments=attachments,
    )


def to_raw(form: ReportForm) -> bytes:
    """The stored original: a JSON document, attachments inline (durable with the row)."""
    doc: dict[str, Any] = {
        "form": "report",
        "version": FORM_VERSION,
        "name": form.name,
        "agency": form.agency,
        "email": form.email,
        "phone": form.phone,
        "category": form.category,
        "description": form.description,
        "language": form.language,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in form.attachments
        ],
    }
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def from_raw(raw: bytes) -> ReportForm:
    """Read a stored document back; ValueError when it is not one of ours."""
    try:
        doc = json.loads(raw.decode("utf-8"))
        attachments = tuple(
            Attachment(
                str(a["filename"]),
                str(a["content_type"]),
                base64.b64decode(a["data"], validate=True),
            )
            for a in doc.get("attachments", [])
        )
        if doc.get("form") != "report":
            raise ValueError("not a report form document")
        return ReportForm(
            name=str(doc["name"]),
            agency=str(doc.get("agency", "")),
            email=str(doc.get("email", "")),
            phone=str(doc.get("phone", "")),
            category=str(doc.get("category", "")),
            description=str(doc["description"]),
            language=str(doc.get("language", "id")),
            attachments=attachments,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"the stored web form is unreadable: {exc}") from exc
    except binascii.Error as exc:
        raise ValueError(f"an attachment of the stored web form is corrupt: {exc}") from exc


def web_message(row: InboundMessage, form: ReportForm, helpdesk: str) -> Message:
    """A web report as the same Message a mail becomes."""
    return Message(
        inbound_id=row.id,
        channel="web",
        sender=form.sender,
        sender_name=form.name,
        recipients=(helpdesk.lower(),),
        subject=form.subject or form.category,
        text=form.description,
        visible=form.description,
        quoted="",
        message_id=None,
        attachments=form.attachments,
    )


def with_chosen_category(ctx: Context, lookup: Lookup, form: ReportForm) -> Context:
    """The requester's category wins over keywords; a rule's team choice still stands."""
    if ctx.ticket is not None or ctx.category == form.category:
        return ctx
    ctx = ctx.decide(
        "web_form", "category", f"{form.category} chosen on the form", category=form.category
    )
    routed = next((d for d in reversed(ctx.trace) if d.stage == "route"), None)
    if routed is not None and routed.outcome in ("category", "default"):
        team = lookup.category_team(form.category)
        ctx = ctx.decide("web_form", "route", f"{form.category} → {team or 'default'}", team=team)
    return ctx


def complete_requester(session: Session, ticket_id: int | None, form: ReportForm) -> None:
    """Keep the agency and the second contact the requester gave, without stealing another's."""
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        return
    requester = ticket.requester
    if form.agency and not requester.organisation:
        requester.organisation = form.agency
    if form.phone and not requester.phone:
        taken = session.scalar(select(Requester.id).where(Requester.phone == form.phone))
        if taken is None:
            requester.phone = form.phone
