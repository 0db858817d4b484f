"""OpenTelemetry spans and W3C trace context in record headers (messaging conventions).

Only opentelemetry-api is used: without an SDK configured every span is a no-op and nothing
is injected; a service that installs an SDK tracer provider gets `send {topic}` (PRODUCER) and
`process {topic}` (CONSUMER) spans, the latter a child of the former through `traceparent`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from contracts_runtime import envelope
from contracts_runtime._version import __version__

INSTRUMENTATION_NAME: Final = "contracts_runtime"
SYSTEM: Final = "kafka"


class _HeaderGetter(Getter[envelope.Headers]):
    """Reads trace context from Kafka headers (a list of (name, bytes) pairs)."""

    def get(self, carrier: envelope.Headers, key: str) -> list[str] | None:
        values = [
            value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            for name, value in carrier
            if name == key and value is not None
        ]
        return values or None

    def keys(self, carrier: envelope.Headers) -> list[str]:
        return [name for name, _ in carrier]


_GETTER: Final = _HeaderGetter()


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode()
    except UnicodeDecodeError:
        return key.hex()


class Tracing:
    """Creates the runtime's spans; `enabled=False` skips tracing entirely (no headers, no spans)."""

    def __init__(self, tracer_provider: TracerProvider | None = None, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._tracer = trace.get_tracer(INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider)
        # None: decided per record by the global provider (the API's proxy follows it as well).
        self._given: bool | None = None
        if tracer_provider is not None and not isinstance(tracer_provider, trace.ProxyTracerProvider):
            self._given = not isinstance(tracer_provider, trace.NoOpTracerProvider)

    def recording(self) -> bool:
        """Whether spans would go anywhere: tracing is enabled and a tracer provider is configured.

        Without one, OpenTelemetry's API hands out no-op spans, but creating them and injecting or
        extracting their (empty) context still costs microseconds per record; callers skip all of
        it when this is False. It is asked per record, so a global provider set later is picked up
        as the API's own proxy tracer would.
        """
        if not self.enabled:
            return False
        if self._given is not None:
            return self._given
        provider = trace._TRACER_PROVIDER  # set once by trace.set_tracer_provider (or OTEL_PYTHON_TRACER_PROVIDER)
        return provider is not None and not isinstance(provider, trace.NoOpTracerProvider)

    def start_send(self, topic: str, key: bytes | None) -> tuple[Span | None, list[tuple[str, bytes]]]:
        """Start a `send {topic}` span; returns it and the trace-context headers to add to the record."""
        if not self.enabled:
            return None, []
        attributes: dict[str, AttributeValue] = {
            "messaging.system": SYSTEM,
            "messaging.destination.name": topic,
            "messaging.operation.name": "send",
            "messaging.operation.type": "send",
        }
        key_text = _key_text(key)
        if key_text is not None:
            attributes["messaging.kafka.message.key"] = key_text
        span = self._tracer.start_span(f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        return span, [(name, value.encode()) for name, value in carrier.items()]

    @staticmethod
    def end_send(span: Span | None, partition: int | None, offset: int | None, error: Exception | None) -> None:
        if span is None:
            return
        if partition is not None:
            span.set_attribute("messaging.destination.partition.id", str(partition))
        if offset is not None:
            span.set_attribute("messaging.kafka.offset", offset)
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)))
        span.end()

    @contextmanager
    def process(
        self,
        topic: str,
        *,
        group: str,
        partition: int,
        offset: int,
        key: bytes | None,
        headers: envelope.Headers | None,
    ) -> Iterator[Span | None]:
        """A current `process {topic}` span, child of the producer's span found in `headers`."""
        if not self.enabled:
            yield None
            return
        parent = propagate.extract(headers or [], getter=_GETTER)
        attributes = self._consume_attributes(topic, group, partition)
        attributes["messaging.kafka.offset"] = offset
        key_text = _key_text(key)
        if key_text is not None:
            attributes["messaging.kafka.message.key"] = key_text
        with self._tracer.start_as_current_span(
            f"process {topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        ) as span:
            yield span

    @contextmanager
    def process_batch(
        self, topic: str, *, group: str, partition: int | None, headers: Sequence[envelope.Headers | None]
    ) -> Iterator[Span | None]:
        """A current `process {topic}` span for a batch, linked to each record's producer span."""
        if not self.enabled:
            yield None
            return
        links = []
        for record_headers in headers:
            producer = trace.get_current_span(propagate.extract(record_headers or [], getter=_GETTER))
            if producer.get_span_context().is_valid:
                links.append(Link(producer.get_span_context()))
        attributes = self._consume_attributes(topic, group, partition)
        attributes["messaging.batch.message_count"] = len(headers)
        with self._tracer.start_as_current_span(
            f"process {topic}",
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            links=links,
        ) as span:
            yield span

    @staticmethod
    def _consume_attributes(topic: str, group: str, partition: int | None) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {
            "messaging.system": SYSTEM,
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.operation.name": "process",
            "messaging.operation.type": "process",
        }
        if partition is not None:
            attributes["messaging.destination.partition.id"] = str(partition)
        return attributes
