"""Accuracy of parse, split_reply and the detectors on ../shared/corpus, per field and source.

``--compare-reply`` scores split_reply side by side with mail-parser-reply (plain, and with
Indonesian rules added at run time) on the reply-trimming fields.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailparser_reply import EmailReplyParser
from mailparser_reply import constants as reply_constants

from tests.corpus import _WS, corpus_root, entries, norm, read_body, run
from tiket.inbound.parse import parse
from tiket.inbound.quotes import Reply, split_reply

_LIBRARY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it", "pl", "sv", "da", "cs", "ja", "ko", "zh"]


def _add_indonesian_rules() -> None:
    """Teach mail-parser-reply the Indonesian headers we handle ("Pada … menulis:", "Dari:")."""
    quoted = reply_constants.QUOTED_MATCH_INCLUDE
    reply_constants.MAIL_LANGUAGES["id"] = {
        "wrote_header": r"^(" + quoted + r"Pada\s(?:.+?\s?.+?)\s?menulis:)$",
        "from_header": r"((?:(?:^|\n|\n"
        + quoted
        + r")[* ]*(?:Dari|Dikirim|Kepada|Perihal|Tanggal|Subjek|Cc):[ *]*(?:\s{,2}).*){2,}"
        r"(?:\n.*){,1})",
        "disclaimers": [],
        "signatures": ["Salam,", "Terima kasih,", "Hormat saya,"],
        "sent_from": "Dikirim dari|Terkirim dari",
    }


def _library(languages: list[str], body_only: bool) -> Callable[[str], Reply]:
    def split(text: str) -> Reply:
        message = EmailReplyParser(languages=list(languages)).read(text)
        if not message.replies:
            return Reply(text.strip(), "")
        first = message.replies[0]
        visible = first.body if body_only else first.content
        rest = [first.signatures, *(reply.content for reply in message.replies[1:])]
        return Reply(visible, "\n".join(rest))

    return split


def compare_reply(root: Path) -> str:
    """Per-source hits of split_reply and mail-parser-reply variants on the reply fields."""
    _add_indonesian_rules()
    splitters: dict[str, Callable[[str], Reply]] = {
        "tiket": split_reply,
        "lib": _library(["en"], body_only=False),
        "lib.body": _library(["en"], body_only=True),
        "lib+id.body": _library(["en", "id"], body_only=True),
        "lib.all+id.body": _library([*_LIBRARY_LANGUAGES, "id"], body_only=True),
    }
    hits: dict[tuple[str, str, str], list[int]] = {}
    for entry in entries(root):
        exp = entry.expected
        if not {"visible", "visible_contains", "quoted_contains"} & exp.keys():
            continue
        is_body = exp["kind"] == "body"
        text = read_body(entry) if is_body else parse(entry.path.read_bytes()).text
        for name, split in splitters.items():
            reply = split(text)
            checks: list[tuple[str, bool]] = []
            if "visible" in exp:
                if entry.path.suffix == ".html":
                    ok = _WS.sub("", reply.visible) == _WS.sub("", exp["visible"])
                else:
                    ok = norm(reply.visible) == norm(exp["visible"])
                checks.append(("visible", ok))
            checks += [
                ("visible_contains", norm(i) in norm(reply.visible))
                for i in exp.get("visible_contains", [])
            ]
            checks += [
                ("quoted_contains", norm(i) in norm(reply.quoted))
                for i in exp.get("quoted_contains", [])
            ]
            for fld, ok in checks:
                for source in ("(all)", entry.source):
                    cell = hits.setdefault((name, fld, source), [0, 0])
                    cell[0] += int(ok)
                    cell[1] += 1
    lines = [f"{'field':<17} {'source':<32}" + "".join(f"{n:>17}" for n in splitters)]
    for fld in ("visible", "visible_contains", "quoted_contains"):
        sources = sorted({k[2] for k in hits if k[1] == fld}, key=lambda s: (s != "(all)", s))
        for source in sources:
            cells = [hits[(name, fld, source)] for name in splitters]
            row = "".join(f"{h:>6}/{t:<4} {h / t:.3f}" for h, t in cells)
            lines.append(f"{fld:<17} {source[:32]:<32} {row}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--failures", metavar="FIELD", help="list the misses of one field")
    parser.add_argument("--totals", action="store_true", help="only the per-field totals")
    parser.add_argument(
        "--compare-reply", action="store_true", help="split_reply vs mail-parser-reply"
    )
    args = parser.parse_args()
    root = corpus_root()
    if root is None:
        print("corpus not found: set TIKET_SHARED or put it at ../shared/corpus", file=sys.stderr)
        return 2
    if args.compare_reply:
        print(compare_reply(root))
        return 0
    start = time.perf_counter()
    score = run(root)
    print(score.table(per_source=not args.totals))
    print(f"corpus run: {time.perf_counter() - start:.1f} s")
    for crash in score.crashes:
        print("CRASH", crash)
    if args.failures:
        for line in score.failures.get(args.failures, []):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
