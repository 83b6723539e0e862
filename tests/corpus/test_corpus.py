"""Accuracy floors over the shared corpus: each is set just below what was measured."""

from __future__ import annotations

import pytest

from tests.corpus import Score, corpus_root
from tiket.inbound.parse import parse
from tiket.rules.detect import bounce

pytestmark = pytest.mark.corpus

#: Measured accuracy minus a small margin; raise a floor when the code gets better.
FLOORS = {
    "from_email": 0.95,
    "from_name": 0.93,
    "to": 0.94,
    "cc": 0.66,
    "subject": 0.97,
    "message_id": 1.0,
    "attachments": 0.90,
    "body": 0.83,
    "body_contains": 0.90,
    "html": 0.98,
    "visible": 0.70,
    "visible_contains": 0.96,
    "quoted_contains": 0.77,
    "is_auto_reply": 1.0,
    "is_bounce": 0.95,
    "bounce_hard": 0.42,
    "bounced_recipients": 0.81,
}


def test_every_mail_parses(corpus_score: Score) -> None:
    assert corpus_score.crashes == []


@pytest.mark.parametrize("field", sorted(FLOORS))
def test_field_accuracy(corpus_score: Score, field: str) -> None:
    hits, total = corpus_score.accuracy(field)
    assert total > 0
    misses = "\n".join(corpus_score.failures.get(field, [])[:15])
    assert hits / total >= FLOORS[field], f"{field}: {hits}/{total}\n{misses}"


def test_line_endings_do_not_change_bounce_detection(corpus_score: Score) -> None:
    root = corpus_root()
    assert root is not None
    maildir = root / "sisimai" / "set-of-emails" / "maildir"
    twins = sorted([*maildir.glob("dos/*"), *maildir.glob("mac/*")])
    assert twins
    for twin in twins:
        original = parse((maildir / "bsd" / twin.name).read_bytes())
        variant = parse(twin.read_bytes())
        assert (bounce(variant) is None) == (bounce(original) is None), twin.name
        assert variant.subject == original.subject, twin.name


def test_parse_is_fast(corpus_score: Score) -> None:
    times = sorted(corpus_score.parse_seconds)
    assert times[len(times) // 2] < 0.005
