"""A full disk under SQLite: the listener answers 451 and the log says the disk is full; then 250.

The data directory is a small tmpfs filled to ENOSPC (mounting needs root).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import Envelope, Session

from tests.conftest import need
from tests.support import make_mail
from tiket.inbound.smtp import Handler
from tiket.inbound.store import GroupCommit, InboundStore
from tiket.model.db import Database
from tiket.model.migrate import upgrade


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    var = tmp_path / "var"
    var.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(var)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        need(f"mounting a tmpfs needs root: {done.stderr.strip()}")
    try:
        yield var
    finally:
        subprocess.run(["umount", "-l", str(var)], check=False)


def _fill(path: Path) -> None:
    with open(path, "wb", buffering=0) as out:
        for size in (1 << 16, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    assert path.stat().st_size > 0


async def _offer(handler: Handler, raw: bytes) -> str:
    envelope = Envelope()
    envelope.original_content = raw
    envelope.mail_from = "budi@dinas.example"
    envelope.rcpt_tos = ["helpdesk@tiket.test"]
    session = Session(loop=asyncio.get_running_loop())
    session.peer = ("127.0.0.1", 1)
    return await handler.handle_DATA(None, session, envelope)  # type: ignore[arg-type]


def test_full_disk_answers_451_says_why_and_recovers(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(f"sqlite:///{small_disk / 'tiket.db'}")
    upgrade(db)
    filler = small_disk / "filler"
    body = "Printer lantai 2 rusak.\n" + "x" * 60 + "\n"

    async def scenario() -> tuple[list[str], str]:
        committer = GroupCommit(InboundStore(db))
        committer.start()
        handler = Handler(committer, ("tiket.test",), lmtp=False)
        _fill(filler)
        replies: list[str] = []
        # The WAL may still hold free pages: a few commits can fit, then nothing does.
        for _ in range(200):
            replies.append(await _offer(handler, make_mail(body=body * 500)))
            if replies[-1].startswith("4"):
                break
        filler.unlink()
        after = await _offer(handler, make_mail(body=body))
        await committer.stop()
        return replies, after

    caplog.set_level(logging.WARNING)
    try:
        replies, after = asyncio.run(scenario())
    finally:
        db.dispose()
    assert replies[-1].startswith("451 "), replies[-3:]
    assert any("the disk holding the database is full" in r.getMessage() for r in caplog.records)
    assert after.startswith("250 ")
