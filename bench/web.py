"""Public pages against `tiket serve` (SQLite): status pages a second, and report-to-number time.

Prints: status page renders a second from one keep-alive client (the rate limit raised out of
the way), the 404 page a second, and for N form submissions the time from POST to the answer
page showing the ticket number (p50/p95), which includes the processor picking the row up.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.web_support import form_fields, running_helpdesk, ticket_number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=30)
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    web = "status_lookups_per_minute = 1000000"
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_helpdesk(Path(tmp), web) as helpdesk,
        httpx.Client(base_url=helpdesk.url, follow_redirects=True, timeout=30) as client,
    ):
        latencies, numbers = [], []
        for i in range(args.reports):
            fields = {
                "name": f"Bench {i}",
                "email": f"bench{i}@dinas.example",
                "category": "network",
                "description": f"Wifi lantai {i} mati",
                **form_fields(client),
            }
            started = time.perf_counter()
            answer = client.post("/report", data=fields)
            latencies.append(time.perf_counter() - started)
            numbers.append(ticket_number(answer))
        started = time.perf_counter()
        for i in range(args.lookups):
            page = client.get(f"/status/{numbers[i % len(numbers)]}")
            assert page.status_code == 200
        status_rate = args.lookups / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(args.lookups):
            assert client.get(f"/status/TKT-0000-{i % 10000:04d}").status_code == 404
        missing_rate = args.lookups / (time.perf_counter() - started)
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    print(f"status pages/s (one client): {status_rate:.0f}")
    print(f"not-found pages/s (one client): {missing_rate:.0f}")
    print(
        f"report POST to ticket number ms: p50 {statistics.median(ms):.0f} p95 {p95:.0f} "
        f"(n={len(ms)})"
    )
    assert all(re.fullmatch(r"TKT-[0-9A-Z]{4}-[0-9A-Z]{4}", n) for n in numbers)


if __name__ == "__main__":
    main()
