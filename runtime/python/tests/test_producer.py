"""Producer against the real broker: envelope on the wire, delivery futures, errors."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from types import ModuleType
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import contracts_runtime
from contracts_runtime import ConfigError, Delivery, DeliveryError, Producer, Topic

from runtime_testing import Topics, headers_of, make_order, read_topic

pytestmark = pytest.mark.kafka


def test_send_writes_key_value_and_envelope_headers(
    kafka_bootstrap: str, topics: Topics, pb: ModuleType, registry: CollectorRegistry
) -> None:
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap, source="svc-test", registry=registry) as producer:
        delivery = producer.send(orders, make_order(pb, 1)).result(timeout=15)
    assert isinstance(delivery, Delivery)
    assert (delivery.topic, delivery.partition, delivery.offset) == (orders.name, 0, 0)
    assert delivery.timestamp is not None
    [record] = read_topic(kafka_bootstrap, orders.name, 1)
    assert record.key() == b"order-1"
    assert record.value() == make_order(pb, 1).SerializeToString()
    headers = headers_of(record)
    assert headers["ce_type"] == b"crt_test.v1.Order"
    assert headers["ce_source"] == b"svc-test"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/protobuf"
    assert headers["ce_id"].decode() == delivery.event_id


def test_on_delivery_callback_and_flush(kafka_bootstrap: str, topics: Topics, pb: ModuleType) -> None:
    orders = topics.orders(partitions=3)
    reports: list[Delivery | None] = []
    done = threading.Event()

    def on_delivery(delivery: Delivery | None, error: DeliveryError | None) -> None:
        assert error is None
        reports.append(delivery)
        if len(reports) == 20:
            done.set()

    producer = Producer(bootstrap_servers=kafka_bootstrap)
    futures = [producer.send(orders, make_order(pb, n), on_delivery=on_delivery) for n in range(20)]
    assert producer.flush(10) == 0
    assert done.wait(5)
    assert all(future.done() for future in futures)
    producer.close()
    assert len(read_topic(kafka_bootstrap, orders.name, 20)) == 20


def test_send_refuses_another_message_type(kafka_bootstrap: str, topics: Topics, pb: ModuleType) -> None:
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap) as producer, pytest.raises(TypeError):
        producer.send(orders, pb.Refund(refund_id="r"))


def test_missing_topic_is_a_config_error(kafka_bootstrap: str, pb: ModuleType) -> None:
    ghost: Topic[Any] = Topic(name="no.such.topic.v1", message_type=pb.Order)
    with (
        Producer(bootstrap_servers=kafka_bootstrap) as producer,
        pytest.raises(ConfigError, match=r"no\.such\.topic\.v1"),
    ):
        producer.send(ghost, pb.Order())
    with pytest.raises(ConfigError, match=r"no\.such\.topic\.v1"):
        Producer(bootstrap_servers=kafka_bootstrap, topics=[ghost])


def test_broker_rejection_fails_the_future(kafka_bootstrap: str, topics: Topics, pb: ModuleType) -> None:
    small = topics.orders(config={"max.message.bytes": "1024"})
    errors: list[DeliveryError | None] = []
    with Producer(bootstrap_servers=kafka_bootstrap, config={"compression.type": "none"}) as producer:
        future = producer.send(
            small, pb.Order(order_id="big", blob=bytes(range(256)) * 40), on_delivery=lambda _, e: errors.append(e)
        )
        with pytest.raises(DeliveryError, match="MSG_SIZE_TOO_LARGE") as caught:
            future.result(timeout=15)
    assert caught.value.topic == small.name
    assert errors == [caught.value]


def test_unreachable_broker_fails_within_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(contracts_runtime.ConnectionError, match=r"127\.0\.0\.1:9.*: no broker reachable"):
        Producer(bootstrap_servers="127.0.0.1:9", connect_timeout=5)
    assert time.monotonic() - started < 1  # refused at once: no waiting for the 5 s bound


def test_a_silent_address_fails_at_the_bound() -> None:
    # A port whose connections the kernel completes but nobody reads: neither an answer nor a refusal.
    with socket.create_server(("127.0.0.1", 0), backlog=16) as silent:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(contracts_runtime.ConnectionError, match=rf"{re.escape(address)}.*within 1.5s"):
            Producer(bootstrap_servers=address, connect_timeout=1.5)
        assert 1.5 <= time.monotonic() - started < 3


def test_a_refused_port_is_said_once_as_the_typed_error() -> None:
    """In a process of its own: pytest's log capture would hide what a service's stderr shows."""
    script = textwrap.dedent(
        """
        import contracts_runtime
        for make in (
            lambda: contracts_runtime.Producer(bootstrap_servers="127.0.0.1:9"),
            lambda: contracts_runtime.Consumer(group_id="g", bootstrap_servers="127.0.0.1:9"),
        ):
            try:
                make()
            except contracts_runtime.ConnectionError as error:
                print(type(error).__name__)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (0, "ConnectionError\nConnectionError\n", "")


def test_closed_producer_refuses_sends(kafka_bootstrap: str, topics: Topics, pb: ModuleType) -> None:
    orders = topics.orders()
    producer = Producer(bootstrap_servers=kafka_bootstrap)
    producer.close()
    producer.close()
    with pytest.raises(RuntimeError, match="closed"):
        producer.send(orders, pb.Order())
