"""Accuracy of parse, split_reply and the detectors on ../shared/corpus, per field and source."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus import corpus_root, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--failures", metavar="FIELD", help="list the misses of one field")
    parser.add_argument("--totals", action="store_true", help="only the per-field totals")
    args = parser.parse_args()
    root = corpus_root()
    if root is None:
        print("corpus not found: set TIKET_SHARED or put it at ../shared/corpus", file=sys.stderr)
        return 2
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
