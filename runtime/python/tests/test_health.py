"""Health checks against the real broker: answers within 1 s whatever the consumer does, a stuck
consumer seen by /readyz, a dead broker seen by /livez (docs/runtime.md, "Health")."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from prometheus_client import CollectorRegistry

from contracts_runtime import (
    Consumer,
    Health,
    HealthServer,
    Producer,
    ProgressCheck,
    Record,
    Topic,
    liveness,
    serve_health,
)

from runtime_testing import Topics, make_order, uncommitted

pytestmark = pytest.mark.kafka

ANSWER_BOUND = 1.0  # seconds: every answer of /livez and /readyz


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_liveness_reads_what_the_client_saw(kafka_bootstrap: str) -> None:
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        result = liveness(producer)
        assert result.healthy, result
        assert "a broker answered" in result.detail
        # The window counts from the last answer: a zero window is already past it.
        assert not liveness(producer, window=0.0).healthy


def test_answers_within_a_second_while_the_consumers_are_busy(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str], registry: CollectorRegistry
) -> None:
    """Two consumers busy for the whole test, one in a handler that blocks, one in a long poll on an
    idle topic; /livez and /readyz of both probed every 100 ms for 20 s."""
    busy_topic, idle_topic = topics.orders(), topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        producer.send(busy_topic, make_order(pb, 1)).result(timeout=15)
    release = threading.Event()
    entered = threading.Event()

    def block(record: Record[Any]) -> None:
        entered.set()
        release.wait(60)

    blocked = Consumer(bootstrap_servers=kafka_bootstrap, group_id=group(), registry=registry)
    idle = Consumer(bootstrap_servers=kafka_bootstrap, group_id=group(), registry=registry)
    blocked.subscribe(busy_topic, block)
    idle.subscribe(idle_topic, lambda record: None)
    servers = {
        "blocked": serve_health(blocked, registry=registry, host="127.0.0.1", stuck_after=5.0, probe_interval=1.0),
        "idle": serve_health(idle, host="127.0.0.1", stuck_after=5.0, probe_interval=1.0),
    }
    workers = [
        threading.Thread(target=blocked.run, kwargs={"timeout": 40}),
        threading.Thread(target=idle.run, kwargs={"timeout": 24, "poll_timeout": 30.0}),  # one poll: the whole test
    ]
    for worker in workers:
        worker.start()
    answers: dict[tuple[str, str], list[tuple[float, int, float]]] = {}
    try:
        assert entered.wait(15), "the blocking handler was never called"
        started = time.monotonic()
        while time.monotonic() - started < 20:
            for name, server in servers.items():
                for path in ("/livez", "/readyz"):
                    took, status = timed_get(server.url + path)
                    answers.setdefault((name, path), []).append((time.monotonic() - started, status, took))
            time.sleep(0.1)
    finally:
        release.set()
        blocked.stop()
        idle.stop()
        for worker in workers:
            worker.join(40)
        for server in servers.values():
            server.close()
        blocked.close()
        idle.close()
    slowest = max(took for series in answers.values() for _, _, took in series)
    assert slowest < ANSWER_BOUND, f"an answer took {slowest:.2f}s"
    assert all(len(series) >= 50 for series in answers.values()), {key: len(s) for key, s in answers.items()}
    assert {status for _, status, _ in answers["blocked", "/livez"]} == {200}  # blocked, yet connected
    assert {status for _, status, _ in answers["idle", "/livez"]} == {200}
    assert {status for _, status, _ in answers["idle", "/readyz"]} == {200}  # nothing to do is ready
    # The blocked handler is in flight longer than stuck_after (5 s) from about the 5th second on.
    blocked_ready = answers["blocked", "/readyz"]
    assert all(status == 503 for at, status, _ in blocked_ready if at > 7), blocked_ready


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
        check = ProgressCheck(consumer, stuck_after=2.0)
        assert check().detail == "no partitions assigned"
        worker = threading.Thread(target=consumer.run, kwargs={"stop_after": 5, "timeout": 30})
        worker.start()
        try:
            assert stuck.wait(15)
            wait_until(lambda: uncommitted(kafka_bootstrap, group_id, orders.name) == 3)  # 0 and 1 committed
            assert check().healthy  # in flight for less than 2 s
            wait_until(lambda: not check().healthy, timeout=5)
            assert check().checks["handler"].startswith("in flight for")
        finally:
            release.set()
            worker.join(30)
        wait_until(lambda: uncommitted(kafka_bootstrap, group_id, orders.name) == 0)
        consumer.run(timeout=1.5)  # a statistics report after the last commit
        third = check()
        assert third.healthy, third
        assert third.checks == {f"{orders.name}[0]": "committed 5 of 5"}


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Any]:
    """A broker this test may kill (never the session's)."""
    kafka_broker = pytest.importorskip("tests.kafka_broker")
    info = kafka_broker.start_broker("plain", tmp_path / "kafka")
    try:
        yield info
    finally:
        kafka_broker.stop_broker(info)


def test_a_dead_broker_turns_livez_unhealthy_within_its_window(
    own_broker: Any, pb: ModuleType, group: Callable[[], str]
) -> None:
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap_servers})
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in ("dead.v1", "dead.v1.dlq")]).values():
        future.result(timeout=15)
    topic: Topic[Any] = Topic(name="dead.v1", message_type=pb.Order)
    window = 4.0
    with Consumer(bootstrap_servers=own_broker.bootstrap_servers, group_id=group()) as consumer:
        consumer.subscribe(topic, lambda record: None)
        server = serve_health(consumer, host="127.0.0.1", window=window, probe_interval=0.5, timeout=0.5)
        worker = threading.Thread(target=consumer.run, kwargs={"timeout": 25})
        worker.start()
        try:
            time.sleep(window + 0.5)  # older than the window: alive only because the broker answers
            took, status = timed_get(server.url + "/livez")
            assert (status, took < ANSWER_BOUND) == (200, True)
            pytest.importorskip("tests.kafka_broker").stop_broker(own_broker)
            stopped = time.monotonic()
            while True:
                took, status = timed_get(server.url + "/livez")
                assert took < ANSWER_BOUND
                if status == 503:
                    break
                assert time.monotonic() - stopped < window + 2, "/livez still healthy with the broker gone"
                time.sleep(0.1)
            assert "no broker answered" in get_json(server.url + "/livez")[1]["detail"]
        finally:
            consumer.stop()
            worker.join(30)
            server.close()


def test_http_endpoints(
    kafka_bootstrap: str, topics: Topics, group: Callable[[], str], registry: CollectorRegistry
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


def timed_get(url: str) -> tuple[float, int]:
    """(seconds taken, status); a request still unanswered after 5 s counts as 5 s."""
    started = time.monotonic()
    try:
        status, _ = get(url, timeout=5)
    except TimeoutError:
        return 5.0, 0
    return time.monotonic() - started, status


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_json(url: str) -> tuple[int, Any]:
    status, body = get(url)
    return status, json.loads(body)
