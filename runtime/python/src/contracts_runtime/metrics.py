"""Prometheus metrics of producers and consumers, all labelled by `topic` (docs/runtime.md, "Metrics").

One `Metrics` exists per `CollectorRegistry` (registering a name twice in one registry is an
error), so every client of a process that uses the same registry shares the same series.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app, start_http_server

LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS: Final = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Metrics:
    """The runtime's series in one registry; get it with `Metrics.for_registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.records_produced = Counter(
            "contracts_records_produced", "Records acknowledged by Kafka.", ["topic"], registry=registry
        )
        self.produce_errors = Counter(
            "contracts_produce_errors", "Records Kafka did not acknowledge.", ["topic"], registry=registry
        )
        self.records_consumed = Counter(
            "contracts_records_consumed", "Records handled successfully.", ["topic"], registry=registry
        )
        self.records_dead_lettered = Counter(
            "contracts_records_dead_lettered",
            "Records written to the dead-letter topic, by reason.",
            ["topic", "reason"],
            registry=registry,
        )
        self.produce_latency = Histogram(
            "contracts_produce_latency_seconds",
            "Time from send() to Kafka's acknowledgement.",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.handle_duration = Histogram(
            "contracts_handle_duration_seconds",
            "Time the handler took, retries included.",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.end_to_end_lag = Histogram(
            "contracts_end_to_end_lag_seconds",
            "Time from the record's ce_time (or Kafka timestamp) to the end of its handling.",
            ["topic"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "contracts_consumer_lag_records",
            "Records between the consumer's position and the end of the partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self._topics: dict[str, TopicMetrics] = {}

    def topic(self, name: str) -> TopicMetrics:
        """The series of one topic (label lookups cached: they cost a lock and a dict each)."""
        series = self._topics.get(name)
        if series is None:
            series = self._topics[name] = TopicMetrics(self, name)
        return series

    _instances: ClassVar[dict[CollectorRegistry, Metrics]] = {}
    _lock: ClassVar = threading.Lock()

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> Metrics:
        """The one `Metrics` of `registry` (the default prometheus_client REGISTRY when None)."""
        registry = REGISTRY if registry is None else registry
        with cls._lock:
            metrics = cls._instances.get(registry)
            if metrics is None:
                metrics = cls._instances[registry] = cls(registry)
            return metrics


class TopicMetrics:
    """The children of every series for one topic."""

    def __init__(self, metrics: Metrics, topic: str) -> None:
        self._metrics = metrics
        self._topic = topic
        self._dead_lettered: dict[str, Counter] = {}
        self.produced = metrics.records_produced.labels(topic)
        self.produce_errors = metrics.produce_errors.labels(topic)
        self.consumed = metrics.records_consumed.labels(topic)
        self.produce_latency = metrics.produce_latency.labels(topic)
        self.handle_duration = metrics.handle_duration.labels(topic)
        self.end_to_end_lag = metrics.end_to_end_lag.labels(topic)

    def dead_lettered(self, reason: str) -> Counter:
        child = self._dead_lettered.get(reason)
        if child is None:
            child = self._dead_lettered[reason] = self._metrics.records_dead_lettered.labels(self._topic, reason)
        return child


def observe_many(histogram: Histogram, values: Iterable[float | None]) -> None:
    """`histogram.observe(value)` for every value that is not None, in bulk.

    `observe` takes two locks per value; the runtime observes once per record, so it collects the
    values and adds them here with one increment per bucket touched. prometheus_client has no
    public call for that: this reads the child's buckets (`_upper_bounds`, `_buckets`, `_sum`) and
    falls back to `observe` when a version lays them out differently.
    """
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:
            if value is not None:
                histogram.observe(value)
        return
    counts = [0] * len(bounds)
    amount = 0.0
    for value in values:
        if value is not None:
            counts[bisect_left(bounds, value)] += 1  # the first bucket whose bound is >= value
            amount += value
    if any(counts):
        total.inc(amount)
        for index, count in enumerate(counts):
            if count:
                buckets[index].inc(count)


def start_metrics_server(
    port: int, addr: str = "0.0.0.0", registry: CollectorRegistry | None = None
) -> tuple[WSGIServer, threading.Thread]:
    """Serve the metrics on a daemon thread (prometheus_client's own server); `server.shutdown()` stops it."""
    return start_http_server(port, addr=addr, registry=REGISTRY if registry is None else registry)


def metrics_wsgi_app(registry: CollectorRegistry | None = None) -> WsgiApp:
    """A WSGI app serving the metrics, to mount in a service's own web server."""
    app: WsgiApp = make_wsgi_app(REGISTRY if registry is None else registry)
    return app
