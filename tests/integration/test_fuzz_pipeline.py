"""Fuzzing the whole pipeline: every input becomes an entry, a discard or a quarantine."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.desk_harness import Harness
from tests.unit.test_fuzz_parse import headers, mime_tree
from tiket.config import Settings
from tiket.model.db import Database

SENDERS = st.sampled_from(
    [
        "budi@dinas.example",
        "",
        "<>",
        "MAILER-DAEMON@mx.example",
        "helpdesk@tiket.test",
        "wayan@diskominfo.example",
        "x" * 400 + "@a.b",
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(SENDERS, headers(), mime_tree()), min_size=1, max_size=4))
def test_every_input_is_accounted_for(
    db: Database, settings: Settings, mails: list[tuple[str, bytes, bytes]]
) -> None:
    desk = Harness(db, settings)
    before = len(desk.inbound())
    for sender, head, body in mails:
        raw = (f"From: {sender}\r\n".encode() if sender else b"") + head + b"\r\n" + body
        desk.deliver(raw)  # raises if processing itself blew up
    rows = desk.inbound()[before:]
    for row in rows:
        assert row.state in {"done", "discarded", "failed"}, row.state
        if row.state != "done":
            assert row.error, "a discard or quarantine always says why"
