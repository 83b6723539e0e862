"""Operations endpoints: `/healthz` (database, workers, mailboxes) and `/metrics`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tiket.errors import TiketError
from tiket.gateway.workers import Loop
from tiket.model import MailboxState
from tiket.model.db import Database

if TYPE_CHECKING:
    from tiket.gateway.http import Services

Check = Callable[[], str | None]  # None when healthy, else the reason


@dataclass
class Health:
    """Named checks; the daemon and its parts add theirs."""

    checks: dict[str, Check] = field(default_factory=dict)

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def report(self) -> tuple[bool, dict[str, str]]:
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                problem = check()
            except TiketError as exc:
                problem = str(exc)
            except Exception as exc:  # a broken check is itself a health problem, not a 500
                problem = f"{type(exc).__name__}: {exc}"
            results[name] = "ok" if problem is None else problem
        return all(value == "ok" for value in results.values()), results


def database_check(db: Database) -> Check:
    def check() -> str | None:
        db.check()
        return None

    return check


def loop_check(loop: Loop, stale_after: float) -> Check:
    """A worker is unhealthy when its thread died or its last round failed for too long."""

    def check() -> str | None:
        if not loop.is_alive():
            return "not running"
        if loop.last_error and (
            loop.last_success is None or time.time() - loop.last_success > stale_after
        ):
            return f"failing: {loop.last_error}"
        return None

    return check


def mailboxes_check(db: Database, names: Sequence[str]) -> Check:
    """Every configured [[imap]] mailbox is connected, as its watcher last recorded."""

    def check() -> str | None:
        with db.session() as session:
            rows = {
                row.name: row
                for row in session.scalars(select(MailboxState).where(MailboxState.name.in_(names)))
            }
        problems = []
        for name in names:
            row = rows.get(name)
            if row is None or not row.connected:
                error = row.last_error if row is not None and row.last_error else "not connected"
                problems.append(f"{name}: {error}")
        return "; ".join(problems) or None

    return check


def routes(services: Services) -> list[BaseRoute]:
    def healthz(request: Request) -> Response:
        healthy, results = services.health.report()
        body = {"status": "ok" if healthy else "unhealthy", "checks": results}
        return JSONResponse(body, status_code=200 if healthy else 503)

    def metrics(request: Request) -> Response:
        registry = services.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
