"""Prometheus metrics: counts read from the database at scrape time, and processing latency."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tiket.model import Event, InboundMessage, InboundState, OutboxMessage, Ticket
from tiket.model.db import Database

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class DatabaseCollector(Collector):
    """Counts from the shared database, so that every daemon behind a balancer agrees."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        with self.db.session() as session:
            inbound = session.execute(
                select(InboundMessage.channel, func.count()).group_by(InboundMessage.channel)
            ).all()
            quarantined = session.scalar(
                select(func.count()).where(InboundMessage.state == InboundState.FAILED)
            )
            opened = session.scalar(select(func.count(Ticket.id)))
            closed = session.scalar(
                select(func.count(Event.id)).where(
                    Event.kind == "status", Event.data["new"].as_string() == "closed"
                )
            )
            by_status = session.execute(
                select(Ticket.status, func.count()).group_by(Ticket.status)
            ).all()
            out = session.execute(
                select(OutboxMessage.channel, OutboxMessage.state, func.count()).group_by(
                    OutboxMessage.channel, OutboxMessage.state
                )
            ).all()
            delivery = session.execute(
                select(OutboxMessage.delivery_status, func.count())
                .where(OutboxMessage.delivery_status.is_not(None))
                .group_by(OutboxMessage.delivery_status)
            ).all()
        messages = CounterMetricFamily(
            "tiket_messages_in", "Inbound messages stored, by channel", labels=["channel"]
        )
        for channel, count in inbound:
            messages.add_metric([channel], count)
        yield messages
        yield CounterMetricFamily("tiket_tickets_opened", "Tickets opened", value=opened or 0)
        yield CounterMetricFamily("tiket_tickets_closed", "Tickets closed", value=closed or 0)
        tickets = GaugeMetricFamily("tiket_tickets", "Tickets by status", labels=["status"])
        for status, count in by_status:
            tickets.add_metric([status], count)
        yield tickets
        outgoing = GaugeMetricFamily(
            "tiket_outbox_messages", "Outbox rows by channel and state", labels=["channel", "state"]
        )
        for channel, state, count in out:
            outgoing.add_metric([channel, state], count)
        yield outgoing
        texts = GaugeMetricFamily(
            "tiket_text_delivery", "Texts by Twilio's last delivery status", labels=["status"]
        )
        for delivery_status, count in delivery:
            texts.add_metric([str(delivery_status)], count)
        yield texts
        yield GaugeMetricFamily(
            "tiket_quarantined_messages", "Inbound messages in quarantine", value=quarantined or 0
        )


class Metrics:
    """One registry per daemon: the database counts and this process's processing latency."""

    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(DatabaseCollector(db))
        self.processing = Histogram(
            "tiket_processing_seconds",
            "Time to process one inbound message (parse, rules, desk, commit)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe_processing(self, seconds: float) -> None:
        self.processing.observe(seconds)
