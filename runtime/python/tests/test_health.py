"""Health checks against the real broker: liveness, progress of a stuck consumer, the HTTP endpoint."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import Producer as KafkaProducer
from prometheus_client import CollectorRegistry

from contracts_runtime import (
    Consumer,
    Health,
    HealthServer,
    Producer,
    ProgressCheck,
    Record,
    liveness,
    serve_health,
)

from runtime_testing import Topics, make_order, uncommitted

pytestmark = pytest.mark.kafka


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_liveness(kafka_bootstrap: str) -> None:
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        result = liveness(producer, timeout=5)
    assert result.healthy
    assert "1 broker(s)" in result.detail
    unreachable = SimpleNamespace(client=KafkaProducer({"bootstrap.servers": "127.0.0.1:9"}))
    started = time.monotonic()
    assert not liveness(unreachable, timeout=0.5)
    assert time.monotonic() - started < 3


def test_progress_check_flags_a_stuck_consumer_until_it_moves(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        for n in range(5):
            producer.send(orders, make_order(pb, n)).result(timeout=15)
    group_id = group()
    stuck = threading.Event()
    release = threading.Event()

    def handler(record: Record[Any]) -> None:
        if record.message.order_id == "order-2":
            stuck.set()
            release.wait(30)

    fast_commits = {"auto.commit.interval.ms": 100}
    with Consumer(bootstrap_servers=kafka_bootstrap, group_id=group_id, config=fast_commits) as consumer:
        consumer.subscribe(orders, handler)
        check = ProgressCheck(consumer)
        assert check().detail == "no partitions assigned"
        worker = threading.Thread(target=consumer.run, kwargs={"stop_after": 5, "timeout": 30})
        worker.start()
        try:
            assert stuck.wait(15)
            wait_until(lambda: uncommitted(kafka_bootstrap, group_id, orders.name) == 3)  # 0 and 1 committed
            first = check()
            assert first.healthy, first  # the first look only takes a baseline
            second = check()
            assert not second.healthy
            assert second.checks == {f"{orders.name}[0]": "stuck at 2, high watermark 5"}
        finally:
            release.set()
            worker.join(30)
        wait_until(lambda: uncommitted(kafka_bootstrap, group_id, orders.name) == 0)
        third = check()
        assert third.healthy, third
        assert third.checks == {f"{orders.name}[0]": "at 5 of 5"}


def test_http_endpoints(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str], registry: CollectorRegistry
) -> None:
    orders = topics.orders()
    with Consumer(bootstrap_servers=kafka_bootstrap, group_id=group(), registry=registry) as consumer:
        consumer.subscribe(orders, lambda record: None)
        server = serve_health(consumer, registry=registry, host="127.0.0.1", port=0)
        try:
            worker = threading.Thread(target=consumer.run, kwargs={"timeout": 0.5})
            worker.start()  # the checks run while the consumer polls on another thread
            live = get_json(server.url + "/livez")
            ready = get_json(server.url + "/readyz")
            worker.join(10)
            assert live == (200, {"healthy": True, "detail": live[1]["detail"], "checks": {}})
            assert ready[0] == 200
            status, _ = get(server.url + "/metrics")
            assert status == 200
            assert get(server.url + "/nothing")[0] == 404
        finally:
            server.close()


def test_http_endpoint_reports_failure_as_503() -> None:
    failing = Health(False, "broken", {"x[0]": "stuck at 1, high watermark 2"})
    server = HealthServer(liveness=lambda: Health(True, "ok"), readiness=lambda: failing, host="127.0.0.1")
    try:
        assert get_json(server.url + "/readyz") == (
            503,
            {"healthy": False, "detail": "broken", "checks": failing.checks},
        )
    finally:
        server.close()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_json(url: str) -> tuple[int, Any]:
    status, body = get(url)
    return status, json.loads(body)
