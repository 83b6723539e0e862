"""Scheduled mail (digests, summaries, reports): HTML with a text part, queued once a period."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tiket.config import Settings
from tiket.ids import new_message_id
from tiket.model import JobSend, utcnow
from tiket.outbound.compose import clean_header
from tiket.outbound.outbox import enqueue


def compose_html_email(
    *,
    sender: str,
    sender_name: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    images: Mapping[str, bytes] = {},
) -> bytes:
    """multipart/alternative (text, then HTML); the HTML's images are related parts named by
    Content-ID, so an `<img src="cid:NAME">` shows them without fetching anything."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((clean_header(sender_name), sender))
    msg["To"] = to
    msg["Subject"] = clean_header(subject, 900)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Loop"] = sender
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if images:
        html_part = msg.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        for name, png in images.items():
            html_part.add_related(png, "image", "png", cid=f"<{name}>", filename=f"{name}.png")
    return msg.as_bytes()


def image_cid(name: str) -> str:
    return f"chart-{name}@tiket"


def already_sent(session: Session, job: str, period: str, recipient: str) -> bool:
    found = session.scalar(
        select(JobSend.id).where(
            JobSend.job == job, JobSend.period == period, JobSend.recipient == recipient
        )
    )
    return found is not None


def send_once(
    session: Session,
    settings: Settings,
    *,
    job: str,
    period: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    images: Mapping[str, bytes] = {},
) -> bool:
    """Queue the mail unless this job already sent it to `to` for `period`.

    The marker and the outbox row are written in the caller's transaction: both or neither, so
    a crash or a restart never sends it twice and never loses it.
    """
    if already_sent(session, job, period, to):
        return False
    domain = settings.mail.address.rpartition("@")[2]
    message_id = new_message_id(domain) if domain else make_msgid()
    payload = compose_html_email(
        sender=settings.from_address,
        sender_name=settings.mail.office_name,
        to=to,
        subject=subject,
        text=text,
        html=html,
        message_id=message_id,
        images={image_cid(name): png for name, png in images.items()},
    )
    try:
        with session.begin_nested():
            row = enqueue(
                session,
                ticket_id=None,
                kind=job.split(":")[0],
                channel="email",
                recipient=to,
                subject=subject,
                body=text,
                message_id=message_id,
                payload=payload,
            )
            session.flush()
            session.add(JobSend(job=job, period=period, recipient=to, outbox_id=row.id))
            session.flush()
    except IntegrityError:  # another runner sent it in the meantime
        return False
    return True
