"""The daemon's HTTP side: one Starlette app built from route groups, served by uvicorn in-loop.

To add pages, write a module with `routes(services) -> list[BaseRoute]` and list it in
ROUTE_GROUPS (or pass `groups=` to `app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from tiket.config import Settings
from tiket.gateway import health, public_status, report_form, survey_pages, twilio_routes, webpage
from tiket.gateway.health import Health
from tiket.gateway.metrics import Metrics
from tiket.model.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What request handlers may use: the daemon's collaborators, nothing global."""

    settings: Settings
    db: Database
    secret: bytes
    health: Health
    metrics: Metrics
    wake: Callable[[], None]  # new work for the processor and the deliverers


RouteGroup = Callable[[Services], Sequence[BaseRoute]]

ROUTE_GROUPS: tuple[RouteGroup, ...] = (
    health.routes,
    twilio_routes.routes,
    *(webpage.routes, public_status.routes, report_form.routes, survey_pages.routes),
)


def app(services: Services, groups: Sequence[RouteGroup] = ROUTE_GROUPS) -> Starlette:
    routes = [route for group in groups for route in group(services)]
    web = Starlette(routes=routes)
    web.state.services = services
    return web


class _InLoopServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM and the stop order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    def __init__(self, web: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            web,
            host=host,
            port=port,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        self.server = _InLoopServer(config)
        self.host = host
        self.port = port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen, or raise OSError when the address cannot be bound."""
        host, port = self.host, self.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP, or asyncio does not set TCP_NODELAY on accepted connections and
        # every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self._task = asyncio.get_running_loop().create_task(
            self.server.serve(sockets=[sock]), name="http"
        )
        while not self.server.started and not self._task.done():
            await asyncio.sleep(0.02)
        if self._task.done():
            self._task.result()
            raise OSError(f"the HTTP server on {host}:{port} stopped while starting")
        log.info("action=listening protocol=http address=%s:%d", host, port)

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (their commit and answer)."""
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, SystemExit):
            await self._task
        self._task = None
