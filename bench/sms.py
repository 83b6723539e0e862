"""Webhook throughput and text round trip: signed SMS webhooks into an in-process daemon.

Prints: webhooks accepted per second (one client with keep-alive, and 4 clients), and the time
from a webhook's 200 to the acknowledgement text reaching the fake Twilio API (p50/p95).
SQLite in a temporary directory unless --database-url is given (e.g. a scratch PostgreSQL).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.test_sms import Running, live_settings
from tests.conftest import TEAM_MAILBOX
from tests.twilio_fake import FakeTwilio, signed, sms_form
from tiket.config import load
from tiket.model.db import Database
from tiket.model.migrate import upgrade
from tiket.model.seed import seed


def post_many(url: str, count: int, prefix: str) -> float:
    started = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            form = sms_form(f"+62812{prefix}{i:05d}", "CCTV kantor mati")
            answer = client.post(url, data=form, headers=signed(url, form))
            assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=400, help="webhooks per client")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = load(env={})
        url_db = args.database_url or f"sqlite:///{tmp}/tiket.db"
        settings = replace(
            base,
            paths=replace(base.paths, var=f"{tmp}/var"),
            database=replace(base.database, url=url_db),
            mail=replace(base.mail, address="helpdesk@tiket.test", secret="bench"),
        )
        db = Database(url_db)
        upgrade(db)
        with db.session() as session:
            seed(session, team_mailbox=TEAM_MAILBOX)
        twilio = FakeTwilio().start()
        listen_only = live_settings(settings, twilio)
        # Processing off, and the deliverers polling as in production (1 s), not as in tests.
        listen_only = replace(
            listen_only, worker=replace(listen_only.worker, process=False, poll_seconds=1.0)
        )
        running = Running(listen_only)
        running.start(listen_only.http.public_url)
        webhook = listen_only.http.public_url + "/twilio/sms"
        seconds = post_many(webhook, args.count, "0")
        print(f"webhooks accepted, 1 client:  {args.count / seconds:8.0f}/s")
        with ThreadPoolExecutor(4) as pool:
            started = time.perf_counter()
            list(pool.map(lambda n: post_many(webhook, args.count, str(n + 1)), range(4)))
            seconds = time.perf_counter() - started
        print(f"webhooks accepted, 4 clients: {4 * args.count / seconds:8.0f}/s")
        running.stop()

        # Round trip with processing and delivery on: webhook answered → ack text at "Twilio".
        live = live_settings(settings, twilio)
        running = Running(live)
        running.start(live.http.public_url)
        webhook = live.http.public_url + "/twilio/sms"
        backlog = 5 * args.count
        started = time.perf_counter()
        while len(twilio.sent) < backlog:  # every stored webhook becomes a ticket and an ack
            if time.perf_counter() - started > 600:
                raise SystemExit(f"backlog not done in 600 s: {len(twilio.sent)} of {backlog}")
            threading.Event().wait(0.05)
        seconds = time.perf_counter() - started
        print(f"backlog processed (ticket + ack text each): {backlog / seconds:8.0f}/s")
        delays = []
        for i in range(50):
            phone = f"+62813{i:07d}"
            form = sms_form(phone, "Jaringan wifi mati")
            httpx.post(webhook, data=form, headers=signed(webhook, form), timeout=30)
            answered = time.perf_counter()
            deadline = answered + 30
            while not twilio.to(phone):
                if time.perf_counter() > deadline:
                    raise SystemExit(f"no text to {phone} within 30 s")
                threading.Event().wait(0.002)
            delays.append(time.perf_counter() - answered)
        running.stop()
        twilio.stop()
        db.dispose()
    delays.sort()
    p50 = statistics.median(delays) * 1000
    p95 = delays[int(len(delays) * 0.95) - 1] * 1000
    print(f"webhook 200 → ack text sent: p50 {p50:.0f} ms, p95 {p95:.0f} ms (poll 0.05 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
