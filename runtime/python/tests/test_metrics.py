"""Metrics: the counters and histograms move with real traffic; the exposition helpers serve them."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts_runtime import Consumer, Metrics, Producer, RetryPolicy, metrics_wsgi_app, start_metrics_server

from runtime_testing import Topics, make_order


def test_one_metrics_per_registry(registry: CollectorRegistry) -> None:
    assert Metrics.for_registry(registry) is Metrics.for_registry(registry)
    assert Metrics.for_registry(registry) is not Metrics.for_registry(CollectorRegistry())


@pytest.mark.kafka
def test_counters_and_histograms_move(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str], registry: CollectorRegistry
) -> None:
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap, registry=registry) as producer:
        for n in range(3):
            producer.send(orders, make_order(pb, n)).result(timeout=15)

    def handler(record: Any) -> None:
        if record.message.order_id == "order-1":
            raise ValueError("no")

    retry = RetryPolicy(attempts=1)
    with Consumer(bootstrap_servers=kafka_bootstrap, group_id=group(), registry=registry, retry=retry) as consumer:
        consumer.subscribe(orders, handler)
        assert consumer.run(stop_after=3, timeout=20) == 3

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"topic": orders.name, **labels})

    assert value("contracts_records_produced_total") == 3
    assert value("contracts_produce_latency_seconds_count") == 3
    assert value("contracts_records_consumed_total") == 2
    assert value("contracts_records_dead_lettered_total", reason="handler") == 1
    assert value("contracts_handle_duration_seconds_count") == 3
    assert value("contracts_end_to_end_lag_seconds_count") == 2
    # The dead-letter producer reports into the same registry, under the dlq topic.
    assert registry.get_sample_value("contracts_records_produced_total", {"topic": orders.dlq_name}) == 1


@pytest.mark.kafka
def test_offset_lag_follows_the_position_and_is_dropped_on_revoke(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str], registry: CollectorRegistry
) -> None:
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        for n in range(20):
            producer.send(orders, make_order(pb, n))

    def lag() -> float | None:
        return registry.get_sample_value("contracts_consumer_lag_records", {"topic": orders.name, "partition": "0"})

    seen: list[float | None] = []

    def slow(record: Any) -> None:  # one record per fetch, 0.15 s each: statistics arrive meanwhile
        seen.append(lag())
        time.sleep(0.15)

    consumer = Consumer(bootstrap_servers=kafka_bootstrap, group_id=group(), registry=registry, fetch_max=1)
    with consumer:
        consumer.subscribe(orders, slow)
        assert consumer.run(stop_after=20, timeout=30) == 20
        behind = [value for value in seen if value is not None]
        assert behind, "no lag sample while 20 records were handled in 3 s"
        assert max(behind) <= 20
        assert any(0 < value < 20 for value in behind), behind
        consumer.run(timeout=2.5)  # caught up: the next statistics report says so
        assert lag() == 0
    assert lag() is None  # revoked on close: the series is gone


def test_exposition(registry: CollectorRegistry) -> None:
    Metrics.for_registry(registry).topic("t.v1").consumed.inc(2)
    responses: list[str] = []
    app = metrics_wsgi_app(registry)
    body = b"".join(
        app({"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics"}, lambda status, headers: responses.append(status))
    )
    assert responses == ["200 OK"]
    assert b'contracts_records_consumed_total{topic="t.v1"} 2.0' in body

    server, thread = start_metrics_server(0, addr="127.0.0.1", registry=registry)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as response:
            assert b"contracts_records_consumed_total" in response.read()
    finally:
        server.shutdown()
        thread.join(5)
