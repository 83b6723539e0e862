"""`tiket serve`: the listeners, the workers and a graceful stop, in one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field

from tiket.config import Settings, mail_secret, parse_hostport
from tiket.errors import ConfigError
from tiket.gateway.health import Health, database_check, loop_check, mailboxes_check
from tiket.gateway.http import HttpServer, Services, app
from tiket.gateway.metrics import Metrics
from tiket.gateway.scheduler import JobScheduler
from tiket.gateway.text_worker import TextDeliverer
from tiket.gateway.workers import Deliverer, Loop, Processor
from tiket.inbound.imap import MailboxWatcher
from tiket.inbound.smtp import Handler, server_factory
from tiket.inbound.store import GroupCommit, InboundStore
from tiket.model.db import Database
from tiket.model.migrate import is_current
from tiket.outbound.email import EmailSender, FileSender, SmtpSender
from tiket.outbound.sms import TwilioSender
from tiket.outbound.texts import texts_enabled

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
    watchers: list[MailboxWatcher] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = Database(self.settings.database_url)
        self.secret = mail_secret(self.settings)

    def check_schema(self) -> None:
        if not is_current(self.db):
            raise ConfigError("the database schema is not current: run `tiket init` first")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until SIGTERM/SIGINT (or until `stop` is set, when one is given)."""
        self.check_schema()
        deliverer = Deliverer(self.db, self.settings, email_sender(self.settings))
        processor = Processor(self.db, self.settings, self.secret, deliverer)
        worker = self.settings.worker
        self.loops = [
            loop
            for loop, wanted in ((processor, worker.process), (deliverer, worker.deliver))
            if wanted
        ]
        texter = self._text_deliverer()
        if texter is not None and worker.deliver:
            self.loops.append(texter)
            processor.deliverers.append(texter)
        committer = GroupCommit(InboundStore(self.db), on_stored=processor.wake)
        committer.start()
        servers = await self._listen(committer)
        http = await self._serve_http(processor, [deliverer, *([texter] if texter else [])])
        for loop in self.loops:
            loop.start()
        # One IMAP connection a mailbox; a commit wakes the processor, as a listener's does.
        self.watchers = [
            MailboxWatcher(mailbox, self.db, on_stored=processor.wake)
            for mailbox in self.settings.imap
        ]
        for watcher in self.watchers:
            watcher.start()
        scheduler = JobScheduler(self.db, self.settings, self.secret)
        if self.settings.scheduler.enabled:
            scheduler.start()
        running = asyncio.get_running_loop()
        if stop is None:
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                running.add_signal_handler(sig, stop.set)
        log.info("action=started database=%s", self.db.engine.url.render_as_string())
        await stop.wait()
        log.info("action=stopping")
        if http is not None:
            await http.stop()  # webhooks in flight commit and get their answer
        for server in servers:
            server.close()  # no new connections; sessions in DATA still get their answer
        for watcher in self.watchers:
            watcher.stop()  # a batch being taken is committed and moved first
        await committer.drain(STOP_SECONDS / 2)
        for loop in self.loops:
            loop.stop()
        await running.run_in_executor(None, self._join)
        await running.run_in_executor(None, scheduler.stop)
        self.db.dispose()
        log.info("action=stopped")

    def _text_deliverer(self) -> TextDeliverer | None:
        if not texts_enabled(self.settings):
            return None
        sender = TwilioSender(self.settings)
        return TextDeliverer(self.db, self.settings, self.secret, sender)

    async def _serve_http(self, processor: Processor, deliverers: list[Loop]) -> HttpServer | None:
        if not self.settings.http.listen:
            return None
        metrics = Metrics(self.db)
        processor.observe = metrics.observe_processing
        checks = Health()
        checks.add("database", database_check(self.db))
        for loop in self.loops:
            checks.add(f"worker:{loop.name}", loop_check(loop, stale_after=120.0))
        if self.settings.imap:
            checks.add("mailboxes", mailboxes_check(self.db, [m.name for m in self.settings.imap]))

        def wake() -> None:
            for loop in (processor, *deliverers):
                loop.wake()

        services = Services(self.settings, self.db, self.secret, checks, metrics, wake)
        host, port = parse_hostport("http.listen", self.settings.http.listen)
        server = HttpServer(app(services), host, port)
        try:
            await server.start()
        except OSError as exc:
            raise ConfigError(f"http.listen {host}:{port}: {exc}") from exc
        return server

    def _join(self) -> None:
        for watcher in self.watchers:
            watcher.join(STOP_SECONDS / 2)
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
