"""`GET /metrics`: what `serve` received, stored and told, in Prometheus' text format.

Read at scrape time from the counters the core, the receivers, the authenticator and the alert
engine keep (a collector, not metric objects threaded through the code), plus the store write
latency histogram the drain observes. The newest event time per source and node makes a silent
sensor visible: `time() - kubetrail_newest_event_timestamp_seconds > 300`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from kubetrail.timeutil import NS

if TYPE_CHECKING:
    from prometheus_client import Metric

    from kubetrail.alerts.engine import Engine
    from kubetrail.api.auth import Authenticator
    from kubetrail.serve.pipeline import Core


class ServeCollector(Collector):
    def __init__(self, core: Core, auth: Authenticator, engine: Engine | None) -> None:
        self.core, self.auth, self.engine = core, auth, engine

    def collect(self) -> Iterator[Metric]:
        c = self.core.counters
        yield _counter("kubetrail_requests_received", "Requests acknowledged (2xx), by receiver.", "receiver", c.received)
        yield _counter("kubetrail_records_received", "Records acknowledged, by receiver (OTLP: spans).", "receiver", c.records)
        yield _counter("kubetrail_events_stored", "New events written into the store, by source.", "source", c.stored)
        yield _counter("kubetrail_events_duplicate", "Events received again and not stored twice, by receiver.", "receiver",
                       c.duplicates)  # fmt: skip
        yield _counter("kubetrail_events_quarantined", "Records quarantined, by source ('' when none was recognized).",
                       "source", c.quarantined)  # fmt: skip
        refused = c.rejected + self.auth.refused
        yield _counter("kubetrail_requests_refused", "Requests refused, by reason.", "reason", refused)
        yield _counter("kubetrail_drain_errors", "Failed writes into the store (retried).", None, {"": c.drain_errors})
        yield _counter("kubetrail_spool_damaged_bytes", "Damaged spool bytes skipped (kept in the spool's damaged/ folder).",
                       None, {"": c.spool_damaged_bytes})  # fmt: skip
        yield _gauge("kubetrail_spool_backlog_bytes", "Spool bytes received and not yet in the store.", self.core.backlog())
        yield _gauge("kubetrail_spool_high_water_bytes", "Backlog past which receivers answer 503.", self.core.high_water)
        yield _gauge("kubetrail_spool_append_queue", "Received bodies waiting for the spool's fsync.", self.core.queued())
        newest = GaugeMetricFamily("kubetrail_newest_event_timestamp_seconds",
                                   "The newest event time written, by source and node.", labels=["source", "node"])  # fmt: skip
        for (source, node), ns in sorted(self.core.newest.items()):
            newest.add_metric([source, node], ns / NS)
        yield newest
        yield from self.core.write_seconds.collect()
        yield _gauge_by("kubetrail_store_memory_bytes", "The store engine's own memory in use, by what it holds (DuckDB: "
                        "its buffer pool's tags; bounded by its memory limit).", "use", self.core.store.memory())  # fmt: skip
        if self.engine is not None:
            yield from _alerts(self.engine)


def _alerts(engine: Engine) -> Iterator[Metric]:
    a = engine.counters
    yield _counter("kubetrail_notifications_sent", "Notices delivered, by output.", "output", a.sent)
    yield _counter("kubetrail_notifications_failed", "Failed sends (retried with backoff), by output.", "output", a.failed)
    yield _gauge_by("kubetrail_notifications_pending", "Notices waiting for their output, by output.", "output", a.pending)
    yield _gauge_by("kubetrail_incidents_active", "Incidents told and not yet quiet, by severity.", "severity", a.active)
    yield _gauge("kubetrail_incident_look_seconds", "How long the latest look for incidents took.", a.look_seconds)


def _counter(name: str, doc: str, label: str | None, values: Mapping[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label] if label else None)
    for key, value in sorted(values.items()):
        family.add_metric([key] if label else [], value)
    return family


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _gauge_by(name: str, doc: str, label: str, values: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def registry(core: Core, auth: Authenticator, engine: Engine | None) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ServeCollector(core, auth, engine))
    return reg


async def metrics(request: Request) -> Response:
    # In a thread: the collector reads the store, which waits for a reopen of it under way.
    body = await run_in_threadpool(generate_latest, request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
