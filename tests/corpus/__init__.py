"""Scoring tiket's parser, reply trimmer and detectors against the shared third-party corpus."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inscriptis import get_text

from tiket.errors import NotAMail
from tiket.inbound.parse import ParsedMessage, parse
from tiket.inbound.quotes import split_reply
from tiket.rules.detect import auto_reply_reason, bounce

REPO = Path(__file__).resolve().parents[2]
FIELDS = (
    "from_email",
    "from_name",
    "to",
    "cc",
    "subject",
    "message_id",
    "attachments",
    "body",
    "body_contains",
    "html",
    "visible",
    "visible_contains",
    "quoted_contains",
    "is_auto_reply",
    "is_bounce",
    "bounce_hard",
    "bounced_recipients",
)
_WS = re.compile(r"\s+")
_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*|/[a-zA-Z]+)[^>]*>")


def corpus_root() -> Path | None:
    """The shared corpus: $TIKET_SHARED/corpus, else <repo>/../shared/corpus; None when absent."""
    shared = os.environ.get("TIKET_SHARED")
    root = Path(shared) / "corpus" if shared else REPO.parent / "shared" / "corpus"
    return root if (root / "INDEX.md").is_file() else None


@dataclass(frozen=True)
class Entry:
    source: str
    rel: str
    path: Path
    expected: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.source}/{self.rel}"


@dataclass
class Score:
    """Hits and misses per field and per source, plus what went wrong."""

    hits: dict[tuple[str, str], int] = field(default_factory=dict)
    totals: dict[tuple[str, str], int] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    crashes: list[str] = field(default_factory=list)
    parse_seconds: list[float] = field(default_factory=list)

    def add(self, source: str, name: str, fld: str, ok: bool, detail: str = "") -> None:
        key = (fld, source)
        self.totals[key] = self.totals.get(key, 0) + 1
        self.hits[key] = self.hits.get(key, 0) + int(ok)
        if not ok:
            self.failures.setdefault(fld, []).append(f"{name}: {detail}"[:400])

    def accuracy(self, fld: str, source: str | None = None) -> tuple[int, int]:
        keys = [k for k in self.totals if k[0] == fld and (source is None or k[1] == source)]
        return sum(self.hits[k] for k in keys), sum(self.totals[k] for k in keys)

    def table(self, per_source: bool = False) -> str:
        lines = [f"{'field':<20} {'source':<40} {'hits':>6} {'total':>6} {'accuracy':>8}"]
        for fld in FIELDS:
            hit, total = self.accuracy(fld)
            if total:
                lines.append(f"{fld:<20} {'(all)':<40} {hit:>6} {total:>6} {hit / total:>8.3f}")
            if per_source:
                for source in sorted({k[1] for k in self.totals if k[0] == fld}):
                    hit, total = self.accuracy(fld, source)
                    lines.append(f"{'':<20} {source:<40} {hit:>6} {total:>6} {hit / total:>8.3f}")
        if self.parse_seconds:
            times = sorted(self.parse_seconds)
            median = times[len(times) // 2] * 1000
            p95 = times[int(len(times) * 0.95)] * 1000
            lines.append(f"parse time per mail: median {median:.2f} ms, p95 {p95:.2f} ms")
        lines.append(f"crashes: {len(self.crashes)}")
        return "\n".join(lines)


def entries(root: Path) -> Iterator[Entry]:
    for expected_file in sorted(root.glob("*/expected.json")):
        source = expected_file.parent
        for rel, fields in json.loads(expected_file.read_text("utf-8")).items():
            yield Entry(source.name, rel, source / rel, fields)


def norm(text: str) -> str:
    return _WS.sub(" ", text.replace("\r\n", "\n")).strip()


def html_to_text(text: str) -> str:
    return str(get_text(text)) if _TAG.search(text) else text


def known_bug_fields(expected: dict[str, Any]) -> set[str]:
    """The fields an upstream_known_bug entry's note says are wrong ("from_email/from_name …")."""
    if not expected.get("upstream_known_bug"):
        return set()
    match = re.match(r"[\w/]+", expected.get("note", ""))
    return set(match.group().split("/")) if match else set()


def _attachments_ok(names: list[str], expected: list[str]) -> bool:
    if len(names) != len(expected):
        return False
    return all(got == want or not got for got, want in zip(names, expected, strict=True))


def read_body(entry: Entry) -> str:
    text = entry.path.read_bytes().decode("utf-8", errors="replace")
    if entry.path.suffix == ".html":
        text = str(get_text(text))
    return text.strip() if entry.source == "discourse-email_reply_trimmer" else text


def _check(score: Score, entry: Entry, fld: str, ok: bool, got: object) -> None:
    if fld in entry.expected and fld not in known_bug_fields(entry.expected):
        detail = f"got {got!r:.160} want {entry.expected[fld]!r:.160}"
        score.add(entry.source, entry.name, fld, ok, detail)


def _score_reply(score: Score, entry: Entry, text: str) -> None:
    exp = entry.expected
    if not {"visible", "visible_contains", "quoted_contains"} & exp.keys():
        return
    reply = split_reply(text)
    if "visible" in exp:
        want = exp["visible"]
        if entry.path.suffix == ".html":
            ok = _WS.sub("", reply.visible) == _WS.sub("", want)
        else:
            ok = norm(reply.visible) == norm(want)
        _check(score, entry, "visible", ok, reply.visible)
    for fld, part in (("visible_contains", reply.visible), ("quoted_contains", reply.quoted)):
        for item in exp.get(fld, []):
            _check(score, entry, fld, norm(item) in norm(part), part)


def _score_headers(score: Score, entry: Entry, msg: ParsedMessage) -> None:
    exp = entry.expected
    sender = msg.from_
    _check(
        score,
        entry,
        "from_email",
        sender is not None and sender.email == str(exp.get("from_email", "")).lower(),
        sender,
    )
    _check(
        score,
        entry,
        "from_name",
        sender is not None and sender.name == exp.get("from_name"),
        sender,
    )
    for fld, got in (("to", msg.to), ("cc", msg.cc)):
        emails = [a.email for a in got]
        _check(score, entry, fld, emails == [e.lower() for e in exp.get(fld, [])], emails)
    _check(score, entry, "subject", norm(msg.subject) == norm(exp.get("subject", "")), msg.subject)
    _check(score, entry, "message_id", msg.message_id == exp.get("message_id"), msg.message_id)
    names = [a.filename for a in msg.attachments]
    _check(score, entry, "attachments", _attachments_ok(names, exp.get("attachments", [])), names)
    _check(score, entry, "html", msg.html == exp.get("html"), msg.html)


def _score_body(score: Score, entry: Entry, msg: ParsedMessage) -> None:
    exp = entry.expected
    text = norm(msg.text)
    if "body" in exp:
        _check(score, entry, "body", text == norm(html_to_text(exp["body"])), msg.text[:300])
    for item in exp.get("body_contains", []):
        _check(score, entry, "body_contains", norm(html_to_text(item)) in text, msg.text[:300])


def _score_detect(score: Score, entry: Entry, msg: ParsedMessage, raw: bytes) -> None:
    exp = entry.expected
    auto = auto_reply_reason(msg)
    _check(score, entry, "is_auto_reply", (auto is not None) == exp.get("is_auto_reply"), auto)
    found = bounce(msg, raw)
    _check(score, entry, "is_bounce", (found is not None) == exp.get("is_bounce"), found)
    hard = found is not None and found.hard == exp.get("bounce_hard")
    _check(score, entry, "bounce_hard", hard, found)
    want = {r.lower() for r in exp.get("bounced_recipients", [])}
    got = set(found.recipients) if found else set()
    _check(score, entry, "bounced_recipients", got == want, sorted(got))


def score_entry(score: Score, entry: Entry) -> None:
    if entry.expected["kind"] == "body":
        _score_reply(score, entry, read_body(entry))
        return
    raw = entry.path.read_bytes()
    start = time.perf_counter()
    try:
        msg = parse(raw)
    except NotAMail as exc:
        score.crashes.append(f"{entry.name}: NotAMail {exc}")
        return
    score.parse_seconds.append(time.perf_counter() - start)
    _score_headers(score, entry, msg)
    _score_body(score, entry, msg)
    _score_reply(score, entry, msg.text)
    _score_detect(score, entry, msg, raw)


def run(root: Path, progress: Callable[[Entry], None] | None = None) -> Score:
    """Score every entry; an unexpected exception is recorded as a crash, never raised."""
    score = Score()
    for entry in entries(root):
        if progress:
            progress(entry)
        try:
            score_entry(score, entry)
        except Exception as exc:
            score.crashes.append(f"{entry.name}: {type(exc).__name__}: {exc}")
    return score
