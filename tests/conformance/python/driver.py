"""The Python conformance driver: `python driver.py consume|produce`, configured by environment.

It follows tests/conformance/PROTOCOL.md: the example registry's generated `registry_contracts`
package, the handler behaviour driven by each record's `zone_id`, and JSON lines on stdout. Spans
go to an in-process exporter that prints them as `span` events.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from contracts_runtime import Consumer as RuntimeConsumer
from contracts_runtime import (
    ContractError,
    Producer,
    Record,
    RetryPolicy,
    Topic,
    serve_health,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry
from registry_contracts.audit.v1.audit_pb2 import AuditEvent
from registry_contracts.topics import AUDIT_EVENTS_V1

_print_lock = threading.Lock()


def emit(event: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed at once (the test reads them as they come)."""
    line = json.dumps(event, separators=(",", ":"))
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class PrintingExporter(SpanExporter):
    """Prints each ended span as a `span` event."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            context = span.get_span_context()
            parent = span.parent
            emit(
                {
                    "event": "span",
                    "name": span.name,
                    "kind": span.kind.name,
                    "trace_id": "" if context is None else f"{context.trace_id:032x}",
                    "parent_span_id": None if parent is None else f"{parent.span_id:016x}",
                    "attributes": dict(span.attributes or {}),
                }
            )
        return SpanExportResult.SUCCESS


def setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


def bound_topic() -> Topic[AuditEvent]:
    name = setting("CONFORMANCE_TOPIC", AUDIT_EVENTS_V1.name)
    return Topic(
        name=name,
        message_type=AuditEvent,
        key_field=AUDIT_EVENTS_V1.key_field,
        type_name=AUDIT_EVENTS_V1.type_name,
        settings=AUDIT_EVENTS_V1.settings,
    )


class Behaviour:
    """The handler rules of PROTOCOL.md, keyed by the record's zone_id; counts calls per record."""

    def __init__(self) -> None:
        self.calls: dict[tuple[int, int], int] = {}

    def fails(self, record: Record[AuditEvent]) -> bool:
        """Count this call for `record`; True when it must fail. May sleep or block."""
        where = (record.partition, record.offset)
        count = self.calls[where] = self.calls.get(where, 0) + 1
        zone = record.message.zone_id
        rule, _, rest = zone.partition("-")
        if rule == "fail":
            return count <= int(rest.partition("-")[0])
        if rule == "always":
            return True
        if rule == "sleep":
            time.sleep(int(rest.partition("-")[0]) / 1000)
        elif rule == "stuck":
            threading.Event().wait()  # until the process is killed
        return False

    def call(self, records: list[Record[AuditEvent]]) -> None:
        failed = [self.fails(record) for record in records]
        ok = not any(failed)
        for record in records:
            emit(
                {
                    "event": "handled",
                    "partition": record.partition,
                    "offset": record.offset,
                    "zone_id": record.message.zone_id,
                    "attempt": self.calls[record.partition, record.offset],
                    "ok": ok,
                    "batch_size": len(records),
                }
            )
        if not ok:
            raise RuntimeError(f"conformance handler fails {sum(failed)} of {len(records)} record(s) as told")


def consume(tracer: TracerProvider, timeout: float) -> int:
    topic = bound_topic()
    registry = CollectorRegistry()
    retry = RetryPolicy(
        attempts=int(setting("CONFORMANCE_ATTEMPTS", "3")),
        base_delay=int(setting("CONFORMANCE_BASE_DELAY_MS", "10")) / 1000,
    )
    behaviour = Behaviour()
    consumer = RuntimeConsumer(
        group_id=setting("CONFORMANCE_GROUP", "conformance-python"),
        retry=retry,
        registry=registry,
        tracer_provider=tracer,
        connect_timeout=timeout,
    )
    server = None
    try:
        if setting("CONFORMANCE_MODE", "record") == "batch":
            consumer.subscribe_batch(topic, behaviour.call, max_messages=int(setting("CONFORMANCE_BATCH_MAX", "100")))
        else:
            consumer.subscribe(topic, lambda record: behaviour.call([record]))
        port = int(setting("CONFORMANCE_HTTP_PORT", "0"))
        if port:
            server = serve_health(consumer, registry=registry, host="127.0.0.1", port=port)
        signal.signal(signal.SIGTERM, lambda signum, frame: consumer.stop())
        emit({"event": "started"})
        stop_after = int(setting("CONFORMANCE_STOP_AFTER", "0"))
        consumer.run(stop_after=stop_after or None)
    finally:
        consumer.close()
        if server is not None:
            server.close()
    return 0


def produce(tracer: TracerProvider, timeout: float) -> int:
    topic = bound_topic()
    count = int(setting("CONFORMANCE_COUNT", "1"))
    keys = [key for key in os.environ.get("CONFORMANCE_KEYS", "").split(",") if key]
    with Producer(
        source="conformance-python", tracer_provider=tracer, connect_timeout=timeout, topics=[topic]
    ) as producer:
        emit({"event": "started"})
        for number in range(count):
            zone = keys[number % len(keys)] if keys else f"ok-{number}"
            delivery = producer.send(topic, AuditEvent(event_id=f"event-{number}", zone_id=zone)).result(timeout)
            emit({"event": "produced", "partition": delivery.partition, "offset": delivery.offset, "zone_id": zone})
    return 0


def main(arguments: list[str]) -> int:
    if arguments not in (["consume"], ["produce"]):
        print("usage: driver.py consume|produce", file=sys.stderr)
        return 2
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(PrintingExporter()))
    timeout = int(setting("CONFORMANCE_TIMEOUT_MS", "10000")) / 1000
    try:
        code = consume(tracer, timeout) if arguments == ["consume"] else produce(tracer, timeout)
    except ContractError as error:
        emit({"event": "error", "kind": type(error).__name__, "message": str(error)})
        return 3
    emit({"event": "stopped"})
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
