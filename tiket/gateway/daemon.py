"""`tiket serve`: the listeners, the workers and a graceful stop, in one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field

from tiket.config import Settings, mail_secret, parse_hostport
from tiket.errors import ConfigError
from tiket.gateway.workers import Deliverer, Loop, Processor
from tiket.inbound.smtp import Handler, server_factory
from tiket.inbound.store import GroupCommit, InboundStore
from tiket.model.db import Database
from tiket.model.migrate import is_current
from tiket.outbound.email import EmailSender, FileSender, SmtpSender

log = logging.getLogger(__name__)

STOP_SECONDS = 8.0


def email_sender(settings: Settings) -> EmailSender:
    if settings.outbound.smarthost:
        host, port = parse_hostport("outbound.smarthost", settings.outbound.smarthost)
        return SmtpSender(
            host,
            port,
            envelope_from=settings.from_address,
            timeout=settings.outbound.timeout_seconds,
        )
    return FileSender(settings.outbox_dir)


@dataclass
class Daemon:
    settings: Settings
    db: Database = field(init=False)
    loops: list[Loop] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = Database(self.settings.database_url)
        self.secret = mail_secret(self.settings)

    def check_schema(self) -> None:
        if not is_current(self.db):
            raise ConfigError("the database schema is not current: run `tiket init` first")

    async def run(self) -> None:
        self.check_schema()
        deliverer = Deliverer(self.db, self.settings, email_sender(self.settings))
        processor = Processor(self.db, self.settings, self.secret, deliverer)
        worker = self.settings.worker
        self.loops = [
            loop
            for loop, wanted in ((processor, worker.process), (deliverer, worker.deliver))
            if wanted
        ]
        committer = GroupCommit(InboundStore(self.db), on_stored=processor.wake)
        committer.start()
        servers = await self._listen(committer)
        for loop in self.loops:
            loop.start()
        stop = asyncio.Event()
        running = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            running.add_signal_handler(sig, stop.set)
        log.info("action=started database=%s", self.db.engine.url.render_as_string())
        await stop.wait()
        log.info("action=stopping")
        for server in servers:
            server.close()
        await asyncio.wait_for(
            asyncio.gather(*(s.wait_closed() for s in servers), return_exceptions=True),
            STOP_SECONDS / 2,
        ) if servers else None
        await committer.stop()
        for loop in self.loops:
            loop.stop()
        await running.run_in_executor(None, self._join)
        self.db.dispose()
        log.info("action=stopped")

    def _join(self) -> None:
        for loop in self.loops:
            loop.join(STOP_SECONDS / 2)

    async def _listen(self, committer: GroupCommit) -> list[asyncio.Server]:
        running = asyncio.get_running_loop()
        smtp = self.settings.smtp
        servers = []
        for key, value, lmtp in (
            ("smtp.listen", smtp.listen, False),
            ("smtp.lmtp_listen", smtp.lmtp_listen, True),
        ):
            if not value:
                continue
            host, port = parse_hostport(key, value)
            handler = Handler(committer, self.settings.mail_domains, lmtp=lmtp)
            factory = server_factory(
                handler, hostname=smtp.hostname, max_bytes=smtp.max_message_bytes
            )
            servers.append(await running.create_server(factory, host, port, reuse_address=True))
            log.info(
                "action=listening protocol=%s address=%s:%d", "lmtp" if lmtp else "smtp", host, port
            )
        return servers
