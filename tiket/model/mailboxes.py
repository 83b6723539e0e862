"""What each watched IMAP mailbox is doing, written by the daemon and read by `tiket status`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tiket.model.base import Base, utcnow


class MailboxState(Base):
    """One row per `[[imap]]` name; several daemons watching one mailbox share it.

    How much a mailbox gave today is not kept here but counted from the inbound rows it made:
    a counter written apart from the commit would miss what a crash took between the two.
    """

    __tablename__ = "imap_mailboxes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    connected: Mapped[bool] = mapped_column(default=False)
    mode: Mapped[str] = mapped_column(String(16), default="")  # idle or poll
    daemon: Mapped[str] = mapped_column(String(200), default="")  # host:pid of the last writer
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    warning: Mapped[str | None] = mapped_column(Text)  # e.g. the mailbox is over its quota
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
