"""Tracing: the producer's trace continues in the consumer's span, with the messaging attributes."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from contracts_runtime import Consumer, Producer, RetryPolicy

from runtime_testing import Topics, headers_of, make_order, read_topic

pytestmark = pytest.mark.kafka


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_trace_context_flows_from_producer_to_consumer(
    kafka_bootstrap: str,
    topics: Topics,
    pb: ModuleType,
    group: Callable[[], str],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap, tracer_provider=provider) as producer:
        delivery = producer.send(orders, make_order(pb, 1)).result(timeout=15)
        producer.send(orders, make_order(pb, 2)).result(timeout=15)
    [record, _] = read_topic(kafka_bootstrap, orders.name, 2)
    assert headers_of(record)["traceparent"].startswith(b"00-")

    group_id = group()

    def handler(record: Any) -> None:
        if record.message.order_id == "order-2":
            raise RuntimeError("nope")

    with Consumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=group_id,
        tracer_provider=provider,
        retry=RetryPolicy(attempts=1),
    ) as consumer:
        consumer.subscribe(orders, handler)
        assert consumer.run(stop_after=2, timeout=20) == 2

    finished = exporter.get_finished_spans()
    sends = [span for span in finished if span.name == f"send {orders.name}"]
    processes = [span for span in finished if span.name == f"process {orders.name}"]
    assert len(sends) == 2
    assert len(processes) == 2
    send, process = sends[0], processes[0]
    assert send.kind is SpanKind.PRODUCER
    assert process.kind is SpanKind.CONSUMER
    assert process.context.trace_id == send.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id
    assert dict(send.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.destination.name": orders.name,
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.kafka.message.key": "order-1",
        "messaging.destination.partition.id": "0",
        "messaging.kafka.offset": delivery.offset,
    }
    assert dict(process.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.destination.name": orders.name,
        "messaging.destination.partition.id": "0",
        "messaging.consumer.group.name": group_id,
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.kafka.message.key": "order-1",
        "messaging.kafka.offset": 0,
    }
    assert processes[1].status.status_code is StatusCode.ERROR
    assert processes[1].parent is not None
    assert processes[1].parent.span_id == sends[1].context.span_id


def test_batch_span_links_every_producer_span(
    kafka_bootstrap: str,
    topics: Topics,
    pb: ModuleType,
    group: Callable[[], str],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap, tracer_provider=provider) as producer:
        for n in range(4):
            producer.send(orders, make_order(pb, n)).result(timeout=15)
    with Consumer(bootstrap_servers=kafka_bootstrap, group_id=group(), tracer_provider=provider) as consumer:
        consumer.subscribe_batch(orders, lambda records: None, max_messages=4, max_wait=2)
        assert consumer.run(stop_after=4, timeout=20) == 4
    finished = exporter.get_finished_spans()
    sent = {span.context.span_id for span in finished if span.name.startswith("send ")}
    [batch] = [span for span in finished if span.name == f"process {orders.name}"]
    assert {link.context.span_id for link in batch.links} == sent
    assert (batch.attributes or {})["messaging.batch.message_count"] == 4


def test_tracing_off_adds_no_headers(kafka_bootstrap: str, topics: Topics, pb: ModuleType) -> None:
    orders = topics.orders()
    with Producer(bootstrap_servers=kafka_bootstrap, tracing=False) as producer:
        producer.send(orders, make_order(pb, 1)).result(timeout=15)
    [record] = read_topic(kafka_bootstrap, orders.name, 1)
    assert "traceparent" not in headers_of(record)
