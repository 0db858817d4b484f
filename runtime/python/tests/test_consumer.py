"""Consumer against the real broker: typed delivery, dead-lettering, retries, batches, restarts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest
from confluent_kafka import Producer as KafkaProducer
from prometheus_client import CollectorRegistry

import contracts_runtime
from contracts_runtime import ConfigError, Consumer, DeadLetterError, Producer, Record, RetryPolicy, Topic

from runtime_testing import Topics, headers_of, make_order, read_topic, uncommitted

pytestmark = pytest.mark.kafka

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


def produce_orders(bootstrap: str, topic: Topic[Any], pb: ModuleType, numbers: range) -> None:
    with Producer(bootstrap_servers=bootstrap) as producer:
        futures = [producer.send(topic, make_order(pb, n)) for n in numbers]
        for future in futures:
            future.result(timeout=15)


def consumer(bootstrap: str, group_id: str, **options: Any) -> Consumer:
    options.setdefault("retry", FAST_RETRY)
    return Consumer(bootstrap_servers=bootstrap, group_id=group_id, **options)


def test_handler_gets_field_equal_messages_and_metadata(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap, source="svc-orders") as producer:
        sent = [producer.send(orders, make_order(pb, n)).result(timeout=15) for n in range(5)]
    received: list[Record[Any]] = []
    with consumer(kafka_bootstrap, group()) as reader:
        reader.subscribe(orders, received.append)
        assert reader.run(stop_after=5, timeout=20) == 5
    assert [r.message for r in received] == [make_order(pb, n) for n in range(5)]
    first = received[0]
    assert isinstance(first.message, pb.Order)
    assert (first.topic, first.partition, first.offset) == (orders.name, 0, 0)
    assert first.key == b"order-0"
    assert first.ce_id == sent[0].event_id
    assert first.ce_source == "svc-orders"
    assert first.ce_time is not None
    assert first.timestamp is not None
    assert abs((first.ce_time - first.timestamp).total_seconds()) < 5
    assert ("ce_type", b"crt_test.v1.Order") in first.headers


def test_wrong_type_and_garbage_go_to_the_dlq_and_later_records_are_processed(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str], registry: CollectorRegistry
) -> None:
    orders = topics.orders()
    group_id = group()
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        producer.send(orders, make_order(pb, 0)).result(timeout=15)
        producer.send(topics.refunds_on(orders.name), pb.Refund(refund_id="r-1")).result(timeout=15)
    raw = KafkaProducer({"bootstrap.servers": kafka_bootstrap})
    raw.produce(orders.name, b"\xff\xff\xff", b"garbage-key", headers=[("ce_type", b"crt_test.v1.Order")])
    raw.produce(orders.name, make_order(pb, 1).SerializeToString(), b"no-headers")
    raw.flush(10)
    produce_orders(kafka_bootstrap, orders, pb, range(2, 4))

    received: list[Any] = []
    with consumer(kafka_bootstrap, group_id, registry=registry) as reader:
        reader.subscribe(orders, lambda record: received.append(record.message.order_id))
        assert reader.run(stop_after=6, timeout=20) == 6
    assert received == ["order-0", "order-2", "order-3"]

    dead = read_topic(kafka_bootstrap, orders.dlq_name, 3)
    assert [m.key() for m in dead] == [b"r-1", b"garbage-key", b"no-headers"]
    reasons = [headers_of(m) for m in dead]
    assert [h["contracts_dlq_reason"] for h in reasons] == [b"wrong-type", b"decode", b"wrong-type"]
    assert [h["contracts_dlq_offset"] for h in reasons] == [b"1", b"2", b"3"]
    for headers in reasons:
        assert headers["contracts_dlq_topic"] == orders.name.encode()
        assert headers["contracts_dlq_partition"] == b"0"
        assert headers["contracts_dlq_group"] == group_id.encode()
        assert b"\n" not in headers["contracts_dlq_error"]
        assert headers["contracts_dlq_attempts"] == b"0"  # never handed to the handler
        assert headers["contracts_dlq_first_failure_time"] == headers["contracts_dlq_last_failure_time"]
    assert b"crt_test.v1.Refund" in reasons[0]["contracts_dlq_error"]
    assert reasons[0]["ce_type"] == b"crt_test.v1.Refund"  # original headers are kept
    assert dead[1].value() == b"\xff\xff\xff"
    dead_lettered = registry.get_sample_value(
        "contracts_records_dead_lettered_total", {"topic": orders.name, "reason": "wrong-type"}
    )
    assert dead_lettered == 2

    assert uncommitted(kafka_bootstrap, group_id, orders.name) == 0  # dead-lettered ones included


def test_a_failed_dead_letter_write_stops_the_consumer_and_skips_nothing(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders(dlq_config={"max.message.bytes": "1024"})  # too small for the bad record
    name = orders.name
    produce_orders(kafka_bootstrap, orders, pb, range(2))
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        huge = pb.Refund(refund_id=os.urandom(3000).hex())  # incompressible enough to stay > 1 KiB
        producer.send(topics.refunds_on(name), huge).result(timeout=15)
    produce_orders(kafka_bootstrap, orders, pb, range(2, 4))
    group_id = group()
    seen: list[str] = []
    with consumer(kafka_bootstrap, group_id) as reader:
        reader.subscribe(orders, lambda record: seen.append(record.message.order_id))
        with pytest.raises(DeadLetterError, match=rf"{re.escape(name)}\[0\]@2 .*MSG_SIZE_TOO_LARGE"):
            reader.run(timeout=20)
        assert seen == ["order-0", "order-1"]
        with pytest.raises(DeadLetterError):  # still there on the next poll: rewound, not skipped
            reader.run(timeout=20)
    assert seen == ["order-0", "order-1"]
    assert uncommitted(kafka_bootstrap, group_id, name) == 3


def test_failing_handler_is_retried_then_dead_lettered(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders()
    produce_orders(kafka_bootstrap, orders, pb, range(3))
    calls: dict[str, int] = {}
    handled: list[str] = []

    def handler(record: Record[Any]) -> None:
        order_id = record.message.order_id
        calls[order_id] = calls.get(order_id, 0) + 1
        if order_id == "order-1":
            raise RuntimeError("database says no\nsecond line")
        if order_id == "order-2" and calls[order_id] < 3:
            raise ConnectionError("flaky")
        handled.append(order_id)

    started = time.monotonic()
    with consumer(kafka_bootstrap, group(), retry=RetryPolicy(attempts=3, base_delay=0.1, max_delay=0.15)) as reader:
        reader.subscribe(orders, handler)
        assert reader.run(stop_after=3, timeout=20) == 3
    assert calls == {"order-0": 1, "order-1": 3, "order-2": 3}
    assert handled == ["order-0", "order-2"]
    assert time.monotonic() - started >= 0.1 + 0.15 + 0.1 + 0.15  # backoff waited, capped at max_delay
    [dead] = read_topic(kafka_bootstrap, orders.dlq_name, 1)
    headers = headers_of(dead)
    assert headers["contracts_dlq_reason"] == b"handler"
    assert headers["contracts_dlq_error"] == b"RuntimeError: database says no second line"
    assert headers["contracts_dlq_offset"] == b"1"
    assert headers["contracts_dlq_attempts"] == b"3"
    first = datetime.fromisoformat(headers["contracts_dlq_first_failure_time"].decode())
    last = datetime.fromisoformat(headers["contracts_dlq_last_failure_time"].decode())
    assert timedelta(seconds=0.2) <= last - first < timedelta(seconds=5)  # the two backoff waits lie between
    assert dead.value() == make_order(pb, 1).SerializeToString()


def test_batch_and_per_record_consumers_see_the_same_records(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders(partitions=3)
    produce_orders(kafka_bootstrap, orders, pb, range(60))
    one_by_one: list[Any] = []
    with consumer(kafka_bootstrap, group()) as reader:
        reader.subscribe(orders, lambda record: one_by_one.append(record.message))
        assert reader.run(stop_after=60, timeout=20) == 60
    batches: list[list[Any]] = []
    with consumer(kafka_bootstrap, group()) as reader:
        reader.subscribe_batch(orders, lambda records: batches.append([r.message for r in records]), max_messages=25)
        assert reader.run(stop_after=60, timeout=20) == 60
    in_batches = [message for batch in batches for message in batch]
    assert all(len(batch) <= 25 for batch in batches)
    assert len(batches) < 60
    key = lambda message: message.order_id  # noqa: E731
    assert sorted(in_batches, key=key) == sorted(one_by_one, key=key)
    assert len({m.order_id for m in in_batches}) == 60


def test_failing_batch_falls_back_to_single_records(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders()
    produce_orders(kafka_bootstrap, orders, pb, range(10))
    calls: list[int] = []
    handled: list[str] = []

    def handler(records: list[Record[Any]]) -> None:
        calls.append(len(records))
        if any(r.message.order_id == "order-4" for r in records):
            raise ValueError("poison")
        handled.extend(r.message.order_id for r in records)

    group_id = group()
    with consumer(kafka_bootstrap, group_id, retry=RetryPolicy(base_delay=0.01)) as reader:
        reader.subscribe_batch(orders, handler, max_messages=10, max_wait=2.0)
        assert reader.run(stop_after=10, timeout=20) == 10
    # The batch 3 times, then each record alone with its own 3 attempts (only order-4 needs them).
    assert calls == [10, 10, 10] + [1] * 12
    assert sorted(handled) == sorted(f"order-{n}" for n in range(10) if n != 4)
    [dead] = read_topic(kafka_bootstrap, orders.dlq_name, 1)
    assert headers_of(dead)["contracts_dlq_reason"] == b"handler"
    assert headers_of(dead)["contracts_dlq_offset"] == b"4"
    assert headers_of(dead)["contracts_dlq_attempts"] == b"6"  # every call that contained it
    assert uncommitted(kafka_bootstrap, group_id, orders.name) == 0


def test_closed_mid_stream_then_restarted_loses_nothing(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders(partitions=2)
    produce_orders(kafka_bootstrap, orders, pb, range(100))
    group_id = group()
    seen: list[str] = []
    with consumer(kafka_bootstrap, group_id) as first:
        first.subscribe(orders, lambda record: seen.append(record.message.order_id))
        assert first.run(stop_after=37, timeout=20) == 37
    with consumer(kafka_bootstrap, group_id) as second:
        second.subscribe(orders, lambda record: seen.append(record.message.order_id))
        assert second.run(stop_after=63, timeout=20) == 63
    assert uncommitted(kafka_bootstrap, group_id, orders.name) == 0
    assert sorted(seen) == sorted(f"order-{n}" for n in range(100))  # none lost, none twice


def test_stop_from_a_handler_rewinds_the_records_in_hand(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders()
    produce_orders(kafka_bootstrap, orders, pb, range(20))
    group_id = group()
    seen: list[str] = []
    with consumer(kafka_bootstrap, group_id) as first:

        def handler(record: Record[Any]) -> None:
            seen.append(record.message.order_id)
            if len(seen) == 5:
                first.stop()

        first.subscribe(orders, handler)
        assert first.run(timeout=20) == 5
        assert first.run(stop_after=3, timeout=20) == 3  # picks up at the sixth record
    assert seen == [f"order-{n}" for n in range(8)]
    with consumer(kafka_bootstrap, group_id) as second:
        second.subscribe(orders, lambda record: seen.append(record.message.order_id))
        assert second.run(stop_after=12, timeout=20) == 12
    assert seen == [f"order-{n}" for n in range(20)]


KILLED_CONSUMER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from crt_test.v1 import order_pb2
from contracts_runtime import Consumer, Topic
bootstrap, topic_name, group_id, log_path = sys.argv[2:6]
orders = Topic(name=topic_name, message_type=order_pb2.Order, key_field="order_id")
log = open(log_path, "a", buffering=1)

def handle(record):
    time.sleep(0.002)
    log.write(record.message.order_id + "\\n")  # the handler's side effect, done before the offset is stored

consumer = Consumer(
    bootstrap_servers=bootstrap,
    group_id=group_id,
    config={"group.instance.id": "worker-1", "auto.commit.interval.ms": 200},
)
consumer.subscribe(orders, handle)
consumer.run()
"""


def test_killed_consumer_restarts_without_losing_records(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str], proto_dir: Path, tmp_path: Path
) -> None:
    orders = topics.orders(partitions=2)
    produce_orders(kafka_bootstrap, orders, pb, range(400))
    group_id = group()
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(KILLED_CONSUMER))
    log = tmp_path / "handled.log"
    log.touch()
    worker = subprocess.Popen(
        [sys.executable, str(script), str(proto_dir), kafka_bootstrap, orders.name, group_id, str(log)],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        # 200 records take the worker at least 0.4 s: past its first background commits (200 ms).
        while len(log.read_text().splitlines()) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(log.read_text().splitlines()) >= 200, "the worker did not get going"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    before_kill = log.read_text().splitlines()
    assert len(before_kill) < 400, "the worker finished before it was killed"

    # Same static member id: the restarted worker takes over at once instead of waiting out
    # the dead member's session timeout.
    after: list[str] = []
    with consumer(kafka_bootstrap, group_id, config={"group.instance.id": "worker-1"}) as restarted:
        restarted.subscribe(orders, lambda record: after.append(record.message.order_id))
        restarted.run(stop_after=400 - len(set(before_kill)), timeout=30)
        restarted.run(timeout=1.5)
    assert set(before_kill) | set(after) == {f"order-{n}" for n in range(400)}
    replayed = set(before_kill) & set(after)
    assert len(replayed) < len(set(before_kill))  # only what followed the last commit is replayed


def test_subscribe_checks_the_topic_and_its_dlq(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    name = f"orders.nodlq.{time.monotonic_ns()}"
    topics.create(name)
    bound: Topic[Any] = Topic(name=name, message_type=pb.Order)
    with consumer(kafka_bootstrap, group()) as reader:
        with pytest.raises(ConfigError, match=re.escape(f"{name}.dlq (")):
            reader.subscribe(bound, lambda record: None)
        with pytest.raises(ConfigError, match=r"no\.such\.topic \((missing|UNKNOWN_TOPIC_OR_PART)\)"):
            reader.subscribe(Topic(name="no.such.topic", message_type=pb.Order), lambda record: None)


def test_unreachable_broker_fails_within_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(contracts_runtime.ConnectionError, match="no broker reachable"):
        Consumer(bootstrap_servers="127.0.0.1:9", group_id="g", connect_timeout=1)
    assert time.monotonic() - started < 5


def test_a_record_dead_lettered_again_has_its_headers_replaced_not_appended(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, group: Callable[[], str]
) -> None:
    orders = topics.orders()
    earlier = [
        ("contracts_dlq_reason", b"decode"),
        ("contracts_dlq_error", b"an earlier failure"),
        ("contracts_dlq_offset", b"99"),
        ("contracts_dlq_attempts", b"0"),
        ("contracts_dlq_first_failure_time", b"2020-01-02T03:04:05.678Z"),
        ("contracts_dlq_last_failure_time", b"2020-01-02T03:04:05.678Z"),
    ]
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:  # a replay from the .dlq, as a tool would
        producer.send(orders, make_order(pb, 0), headers=earlier).result(timeout=15)

    def fail(record: Record[Any]) -> None:
        raise RuntimeError("still broken")

    with consumer(kafka_bootstrap, group(), retry=RetryPolicy(attempts=2, base_delay=0.01)) as reader:
        reader.subscribe(orders, fail)
        assert reader.run(stop_after=1, timeout=20) == 1
    [dead] = read_topic(kafka_bootstrap, orders.dlq_name, 1)
    pairs = cast(list[tuple[str, bytes]], dead.headers() or [])
    names = [name for name, _ in pairs if name.startswith("contracts_dlq_")]
    assert sorted(names) == sorted(set(names))  # each once
    assert len(names) == 9
    headers = headers_of(dead)
    assert headers["contracts_dlq_reason"] == b"handler"
    assert headers["contracts_dlq_error"] == b"RuntimeError: still broken"
    assert headers["contracts_dlq_offset"] == b"0"
    assert headers["contracts_dlq_attempts"] == b"2"
    assert headers["contracts_dlq_first_failure_time"] == b"2020-01-02T03:04:05.678Z"  # the history stays
    assert headers["contracts_dlq_last_failure_time"].startswith(str(datetime.now(UTC).year).encode())
