"""What readers hand writers (Item, Batch), dead-lettering, and the connector's metrics and health state."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol, cast

from confluent_kafka import Message, TopicPartition
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from contracts_runtime import Producer, envelope
from contracts_runtime.errors import DeadLetterError
from contracts_runtime.health import Health
from contracts_runtime.metrics import LATENCY_BUCKETS

log = logging.getLogger("contracts_runtime.connect")

DLQ_CONNECTOR: Final = "contracts_dlq_connector"
BATCH_BUCKETS: Final = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
STUCK_AFTER: Final = 30.0
_MAX_ERROR: Final = 1000

TopicPartitionKey = tuple[str, int]


class Item:
    """One record read and, once transformed, the message to write.

    Built once per record on the hot path, so it holds the consumer's record and reads its
    fields only when asked (a dead letter, the HTTP writer): most writers never look at them.
    """

    __slots__ = ("message", "record")

    def __init__(self, record: Message, message: Any = None) -> None:
        self.record = record
        self.message = message

    @property
    def topic(self) -> str:
        return self.record.topic() or ""

    @property
    def partition(self) -> int:
        return self.record.partition() or 0

    @property
    def offset(self) -> int:
        return self.record.offset() or 0

    @property
    def key(self) -> bytes | None:
        key = self.record.key()
        return key.encode() if isinstance(key, str) else key

    @property
    def value(self) -> bytes | None:
        value = self.record.value()
        return value.encode() if isinstance(value, str) else value

    @property
    def headers(self) -> list[tuple[str, bytes | None]]:
        return cast(list[tuple[str, bytes | None]], self.record.headers() or [])

    @property
    def ce_id(self) -> str | None:
        value = envelope.header(self.headers, envelope.CE_ID)
        return None if value is None else value.decode("utf-8", "replace")


@dataclass(slots=True)
class Failure:
    """A record that goes to the dead-letter topic, and why."""

    item: Item
    reason: str
    error: str
    attempts: int = 0
    extra_headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(slots=True)
class Batch:
    """Records to write, records to dead-letter, and the next offset per partition once both are done."""

    items: list[Item]
    failures: list[Failure]
    offsets: dict[TopicPartitionKey, int]
    # The consumer's group metadata, for send_offsets_to_transaction: asked for only by the Kafka
    # writer, since fetching it costs a round trip to librdkafka's main thread per batch.
    group_metadata: Callable[[], object] | None = None

    def partitions(self) -> list[TopicPartition]:
        return [TopicPartition(topic, partition, offset) for (topic, partition), offset in self.offsets.items()]


class Writer(Protocol):
    """Where a connector writes. `owns_offsets`: the writer stores the consumed offsets itself."""

    owns_offsets: bool
    input_type: type | None  # the message type the writer needs; None: any message

    def stored_offsets(self, partitions: Sequence[TopicPartitionKey]) -> dict[TopicPartitionKey, int]: ...

    def write(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


def one_line(error: BaseException | str) -> str:
    if isinstance(error, str):
        return " ".join(error.split())[:_MAX_ERROR]
    text = " ".join(str(error).split())
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:_MAX_ERROR]


def dead_letter_headers(failure: Failure, group: str) -> list[tuple[str, bytes | None]]:
    """The record's headers with every contracts_dlq_* header replaced (first failure time kept)."""
    item = failure.item
    first = envelope.header(item.headers, envelope.DLQ_FIRST_FAILURE_TIME)
    now = envelope.now_ce_time()
    kept = [(name, value) for name, value in item.headers if not name.startswith(envelope.DLQ_PREFIX)]
    return [
        *kept,
        (envelope.DLQ_REASON, failure.reason.encode()),
        (envelope.DLQ_ERROR, failure.error.encode()),
        (envelope.DLQ_TOPIC, item.topic.encode()),
        (envelope.DLQ_PARTITION, b"%d" % item.partition),
        (envelope.DLQ_OFFSET, b"%d" % item.offset),
        (envelope.DLQ_GROUP, group.encode()),
        (envelope.DLQ_ATTEMPTS, b"%d" % failure.attempts),
        (envelope.DLQ_FIRST_FAILURE_TIME, first if isinstance(first, bytes) else now),
        (envelope.DLQ_LAST_FAILURE_TIME, now),
        (DLQ_CONNECTOR, group.encode()),
        *failure.extra_headers,
    ]


def send_dead_letters(producer: Producer, failures: Sequence[Failure], group: str, metrics: ConnectorMetrics) -> None:
    """Write `failures` to `<topic>.dlq` and return once Kafka acknowledged each."""
    handles = []
    for failure in failures:
        item = failure.item
        headers = dead_letter_headers(failure, group)
        handles.append((failure, producer.send_raw(item.topic + ".dlq", item.key, item.value, headers)))
    for failure, handle in handles:
        try:
            handle.result(timeout=30)
        except Exception as error:
            raise DeadLetterError(
                f"could not dead-letter {failure.item.topic}[{failure.item.partition}]@{failure.item.offset} "
                f"({one_line(error)}); stopping so that it is not skipped"
            ) from error
    note_dead_letters(failures, metrics)


def note_dead_letters(failures: Sequence[Failure], metrics: ConnectorMetrics) -> None:
    """Log and count dead letters once they are written (for the Kafka writer: once committed)."""
    for failure in failures:
        log.warning(
            "dead-lettered %s[%d]@%d (%s): %s",
            failure.item.topic,
            failure.item.partition,
            failure.item.offset,
            failure.reason,
            failure.error,
        )
        metrics.dead_lettered.labels(metrics.connector, failure.reason).inc()


class ConnectorMetrics:
    """The connector's series, all labelled `connector` (the runtime's own series come with them)."""

    _by_registry: dict[CollectorRegistry, dict[str, Any]] = {}  # noqa: RUF012 (one set of series per registry)
    _lock = threading.Lock()

    def __init__(self, connector: str, registry: CollectorRegistry | None = None) -> None:
        self.connector = connector
        self.registry = REGISTRY if registry is None else registry
        with self._lock:
            series = self._by_registry.get(self.registry)
            if series is None:
                series = self._by_registry[self.registry] = _series(self.registry)
        self.read: Counter = series["read"]
        self.written: Counter = series["written"]
        self.dropped: Counter = series["dropped"]
        self.dead_lettered: Counter = series["dead_lettered"]
        self.batch_size: Histogram = series["batch_size"]
        self.write_duration: Histogram = series["write_duration"]
        self.lag: Gauge = series["lag"]


def _series(registry: CollectorRegistry) -> dict[str, Any]:
    return {
        "read": Counter("contracts_connector_records_read", "Records read.", ["connector"], registry=registry),
        "written": Counter("contracts_connector_records_written", "Records written.", ["connector"], registry=registry),
        "dropped": Counter(
            "contracts_connector_records_dropped",
            "Records a transform dropped (returned None).",
            ["connector", "transform"],
            registry=registry,
        ),
        "dead_lettered": Counter(
            "contracts_connector_records_dead_lettered",
            "Records written to <topic>.dlq, by reason.",
            ["connector", "reason"],
            registry=registry,
        ),
        "batch_size": Histogram(
            "contracts_connector_batch_size",
            "Records per batch.",
            ["connector"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        ),
        "write_duration": Histogram(
            "contracts_connector_write_duration_seconds",
            "Time to write one batch (offsets included).",
            ["connector"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        "lag": Gauge(
            "contracts_connector_lag_records",
            "Records between the connector's position and the end of the partition (or outbox rows waiting).",
            ["connector", "topic", "partition"],
            registry=registry,
        ),
    }


class Progress:
    """State the health checks read: the polling thread writes it, the HTTP thread only reads."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last_contact = self.started  # the source answered (a poll or a query returned)
        self.batch_started: float | None = None
        self.last_write = self.started
        self.lag: dict[TopicPartitionKey, int] = {}

    def liveness(self) -> Health:
        silent = time.monotonic() - self.last_contact
        if silent > STUCK_AFTER:
            return Health(False, f"the source has not answered for {silent:.0f}s")
        return Health(True, f"the source answered {silent:.1f}s ago")

    def readiness(self) -> Health:
        now = time.monotonic()
        started = self.batch_started
        if started is not None and now - started > STUCK_AFTER:
            return Health(False, f"a batch has been in flight for {now - started:.0f}s")
        behind = {f"{topic}[{partition}]": lag for (topic, partition), lag in self.lag.items() if lag > 0}
        checks = {name: f"{lag} record(s) behind" for name, lag in behind.items()}
        if behind and now - self.last_write > STUCK_AFTER:
            return Health(False, f"records waiting and nothing written for {now - self.last_write:.0f}s", checks)
        return Health(True, "progressing or caught up", checks)


def utc_now() -> datetime:
    return datetime.now(UTC)
