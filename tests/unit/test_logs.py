"""Structured logs: the action=… fields of a message become JSON fields."""

from __future__ import annotations

import json
import logging

from tiket.logs import JsonFormatter


def test_json_lines_carry_the_fields() -> None:
    record = logging.LogRecord(
        "tiket.x",
        logging.WARNING,
        __file__,
        1,
        "action=quarantined inbound=%d reason=%s",
        (42, "no sender"),
        None,
    )
    data = json.loads(JsonFormatter().format(record))
    assert data["level"] == "warning"
    assert data["logger"] == "tiket.x"
    assert data["action"] == "quarantined"
    assert data["inbound"] == "42"
    assert data["message"] == "action=quarantined inbound=42 reason=no sender"
    assert data["time"].endswith("+00:00")
