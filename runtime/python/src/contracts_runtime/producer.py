"""A typed producer: `producer.send(TOPIC, message)` returns a Future of Kafka's acknowledgement."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, NamedTuple, Self, TypeVar, Unpack, cast

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka import Producer as KafkaProducer
from opentelemetry.trace import Span, TracerProvider
from prometheus_client import CollectorRegistry

from contracts_runtime import envelope
from contracts_runtime._client import ErrorWatch, check_connection, check_topics, librdkafka_log, log
from contracts_runtime.config import ConfigValue, ConnectionOptions, client_config
from contracts_runtime.errors import DeliveryError
from contracts_runtime.metrics import Metrics
from contracts_runtime.topic import ProtoMessage, Topic
from contracts_runtime.tracing import Tracing

M = TypeVar("M", bound=ProtoMessage)

# Safe defaults; the `config=` dict overrides them.
PRODUCER_DEFAULTS: Final[Mapping[str, str]] = {
    "enable.idempotence": "true",
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": "5",
    # A typo in a topic name must fail, never create a topic.
    "allow.auto.create.topics": "false",
}


class Delivery(NamedTuple):
    """Kafka's acknowledgement of one record."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    event_id: str


DeliveryCallback = Callable[[Delivery | None, DeliveryError | None], None]


class Producer:
    """Sends typed messages to their bound topics with the envelope's key and headers.

    A daemon thread serves delivery reports, so futures resolve without the caller polling.
    Use it as a context manager, or call `close()`: both flush what is still queued.
    """

    def __init__(
        self,
        *,
        source: str = envelope.DEFAULT_SOURCE,
        config: Mapping[str, ConfigValue] | None = None,
        topics: Iterable[Topic[Any]] = (),
        registry: CollectorRegistry | None = None,
        tracer_provider: TracerProvider | None = None,
        tracing: bool = True,
        connect_timeout: float = 10.0,
        queue_full_timeout: float = 30.0,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        self.source = source
        self._source_argument = None if source == envelope.DEFAULT_SOURCE else source  # None: the prebuilt header
        self.settings: Final = {**PRODUCER_DEFAULTS, **client_config(**connection, config=config)}
        self._timeout = connect_timeout
        self._queue_full_timeout = queue_full_timeout
        self._metrics = Metrics.for_registry(registry)
        self._tracing = Tracing(tracer_provider, enabled=tracing)
        self._errors = ErrorWatch("producer")
        self._kafka = KafkaProducer({**self.settings, "error_cb": self._errors, "logger": librdkafka_log})
        self._verified: set[str] = set()
        self._closed = threading.Event()
        try:
            check_connection(self._kafka, self.settings, self._errors, connect_timeout)
            self.check_topics(topic.name for topic in topics)
        except BaseException:
            _close_quietly(self._kafka)
            raise
        self._poller = threading.Thread(target=self._serve_deliveries, name="contracts-producer-poll", daemon=True)
        self._poller.start()

    @property
    def client(self) -> KafkaProducer:
        """The underlying confluent_kafka Producer."""
        return self._kafka

    def check_topics(self, names: Iterable[str]) -> None:
        """Raise KafkaConfigError unless every topic exists; topics seen once are not checked again."""
        pending = [name for name in names if name not in self._verified]
        if pending:
            check_topics(self._kafka, pending, self._timeout)
            self._verified.update(pending)

    def send(
        self,
        topic: Topic[M],
        message: M,
        *,
        headers: Sequence[tuple[str, bytes]] = (),
        event_id: str | None = None,
        time: datetime | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> Future[Delivery]:
        """Queue `message` for `topic`; the future resolves to a Delivery or fails with DeliveryError.

        Raises TypeError when `message` is not the topic's type, KafkaConfigError when the topic
        does not exist or the credentials were refused.
        """
        if self._closed.is_set():
            raise RuntimeError("send() on a closed Producer")
        self._errors.raise_if_fatal()
        if topic.name not in self._verified:
            self.check_topics([topic.name])
        record = topic.encode(message, source=self._source_argument, event_id=event_id, time=time, headers=headers)
        span, trace_headers = self._tracing.start_send(topic.name, record.key)
        if trace_headers:
            record.headers.extend(trace_headers)
        future: Future[Delivery] = Future()
        future.set_running_or_notify_cancel()
        event_id = record.headers[1][1].decode()  # ce_id: always second (envelope order)
        report = _Report(self, future, span, on_delivery, event_id)
        try:
            self._produce(record.topic, record.key, record.value, record.headers, report)
        except BaseException as error:
            self._tracing.end_send(span, None, None, error if isinstance(error, Exception) else None)
            raise
        return future

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | str | None]],
    ) -> Future[Delivery]:
        """Queue an already-encoded record (dead-lettering uses this); no type check, no envelope."""
        self._errors.raise_if_fatal()
        future: Future[Delivery] = Future()
        future.set_running_or_notify_cancel()
        event_id = _header_value(headers, envelope.CE_ID)
        self._produce(topic, key, value, list(headers), _Report(self, future, None, None, event_id))
        return future

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | str | None]],
        report: _Report,
    ) -> None:
        deadline = 0.0
        while True:
            try:
                self._kafka.produce(topic, value, key, headers=cast(Any, headers), on_delivery=report)
                return
            except BufferError:
                # The local queue is full: wait for the poll thread to drain it, within a bound.
                now = time.monotonic()
                deadline = deadline or now + self._queue_full_timeout
                if now >= deadline:
                    raise DeliveryError(
                        topic, "_QUEUE_FULL", f"the producer queue stayed full for {self._queue_full_timeout:g}s"
                    ) from None
                self._kafka.poll(0.01)

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every queued record is acknowledged (or `timeout` passes); returns how many remain."""
        return self._kafka.flush(-1 if timeout is None else timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then stop. Records still undelivered after `timeout` fail their futures (_PURGE_QUEUE)."""
        if self._closed.is_set():
            return
        remaining = self.flush(timeout)
        if remaining:
            log.warning("producer closed with %d undelivered records; their futures fail", remaining)
            self._kafka.purge()
        self._closed.set()
        self._poller.join()
        self._kafka.flush(1.0)  # serves the purge reports
        _close_quietly(self._kafka)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _serve_deliveries(self) -> None:
        while not self._closed.is_set():
            self._kafka.poll(0.1)


class _Report:
    """The delivery callback of one record: resolves its future, ends its span, counts it."""

    __slots__ = ("_callback", "_event_id", "_future", "_producer", "_span", "_started")

    def __init__(
        self,
        producer: Producer,
        future: Future[Delivery],
        span: Span | None,
        callback: DeliveryCallback | None,
        event_id: str,
    ) -> None:
        self._producer = producer
        self._future = future
        self._span = span
        self._callback = callback
        self._event_id = event_id
        self._started = time.perf_counter()

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        topic = message.topic() or ""
        metrics = self._producer._metrics.topic(topic)
        if error is None:
            timestamp_type, timestamp_ms = message.timestamp()
            delivery = Delivery(
                topic,
                message.partition() or 0,
                message.offset() or 0,
                datetime.fromtimestamp(timestamp_ms / 1000, UTC) if timestamp_type else None,
                self._event_id,
            )
            metrics.produced.inc()
            metrics.produce_latency.observe(time.perf_counter() - self._started)
            self._producer._tracing.end_send(self._span, delivery.partition, delivery.offset, None)
            self._future.set_result(delivery)
            self._notify(delivery, None)
        else:
            failure = DeliveryError(topic, error.name(), error.str(), retriable=error.retriable())
            # Also logged: a caller that drops the future must still learn that a record was lost.
            log.error("record %s not delivered: %s", self._event_id, failure)
            metrics.produce_errors.inc()
            self._producer._tracing.end_send(self._span, None, None, failure)
            self._future.set_exception(failure)
            self._notify(None, failure)

    def _notify(self, delivery: Delivery | None, failure: DeliveryError | None) -> None:
        if self._callback is None:
            return
        try:
            self._callback(delivery, failure)
        except Exception:
            log.exception("on_delivery callback raised")


def _close_quietly(kafka: KafkaProducer) -> None:
    # close() raises the client's fatal error, if it had one; that error was reported already.
    try:
        kafka.close()
    except KafkaException as error:
        log.warning("producer closed after a fatal error: %s", error)


def _header_value(headers: Sequence[tuple[str, bytes | str | None]], name: str) -> str:
    value = envelope.header(headers, name)
    return "" if value is None else value.decode("utf-8", "replace")
