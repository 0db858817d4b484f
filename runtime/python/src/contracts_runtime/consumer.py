"""A typed, at-least-once consumer with retries, dead-lettering, metrics and tracing.

Guarantee: a record's offset is stored only after its handler succeeded or after the record
was written to the dead-letter topic and Kafka acknowledged that write. Stored offsets are
committed by librdkafka in the background (`auto.commit.interval.ms`) and synchronously on
rebalance and close, so a crash replays at most the records of the last commit interval.

The per-record path is kept to a handful of calls: one pass over the headers, cached timestamp
and `ce_time` conversions, spans only when a tracer provider is configured, and metrics gathered
per subscription and added to Prometheus once per fetched batch.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any, Final, Generic, NamedTuple, Self, TypeAlias, TypeVar, Unpack, cast

from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from opentelemetry.trace import Span, Status, StatusCode, TracerProvider
from prometheus_client import CollectorRegistry

from contracts_runtime import envelope
from contracts_runtime._client import (
    LIBRDKAFKA_LOGGER,
    BrokerContact,
    ErrorWatch,
    check_connection,
    check_topics,
    log,
    without_consumer_settings,
)
from contracts_runtime.config import ConfigValue, ConnectionOptions, client_config
from contracts_runtime.errors import (
    ConfigError,
    ConnectionError,
    DeadLetterError,
    DecodeError,
    ValidationError,
    WrongTypeError,
)
from contracts_runtime.metrics import Metrics, TopicMetrics, observe_many
from contracts_runtime.producer import Producer
from contracts_runtime.topic import ProtoMessage, Topic
from contracts_runtime.tracing import Tracing
from contracts_runtime.validation import violations_header

M = TypeVar("M", bound=ProtoMessage)

CONSUMER_DEFAULTS: Final[Mapping[str, str]] = {
    "enable.auto.commit": "true",
    "auto.commit.interval.ms": "1000",
    "auto.offset.reset": "earliest",
    "allow.auto.create.topics": "false",
    # Statistics carry each partition's high watermark (from every fetch), position and committed
    # offset: the offset-lag gauge and the readiness check read them, with no broker round trip.
    "statistics.interval.ms": "1000",
}
# Set after the caller's config: the at-least-once guarantee depends on it.
_FORCED: Final[Mapping[str, str]] = {"enable.auto.offset.store": "false"}
_MAX_ERROR_TEXT: Final = 1000
# Entries of the conversion caches (timestamps, ce_time, ce_source) before they are emptied.
_CACHE_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failing handler is called before its records are dead-lettered.

    `attempts` counts every call, the first included; the wait before retry n is
    `min(max_delay, base_delay * 2 ** (n - 1))`. Keep the total well under
    `max.poll.interval.ms` (5 minutes by default): the consumer does not poll while it waits.
    """

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def delay(self, retry: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** (retry - 1)))


@dataclass(frozen=True, slots=True)
class Record(Generic[M]):
    """A decoded record and where it came from, as handed to handlers."""

    message: M
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: list[tuple[str, bytes | None]]
    timestamp: datetime | None  # the Kafka record timestamp
    ce_id: str | None
    ce_source: str | None
    ce_time: datetime | None


Handler = Callable[[Record[M]], object]
BatchHandler = Callable[[list[Record[M]]], object]


def _field_setter(name: str) -> Callable[[Record[Any], object], None]:
    setter: Callable[[Record[Any], object], None] = getattr(Record, name).__set__
    return setter


_RECORD_FIELDS: Final = tuple(item.name for item in fields(Record))
if _RECORD_FIELDS != (
    "message",
    "topic",
    "partition",
    "offset",
    "key",
    "headers",
    "timestamp",
    "ce_id",
    "ce_source",
    "ce_time",
):
    raise AssertionError("Record's fields changed: update _new_record")
(
    _set_message,
    _set_topic,
    _set_partition,
    _set_offset,
    _set_key,
    _set_headers,
    _set_timestamp,
    _set_ce_id,
    _set_ce_source,
    _set_ce_time,
) = (_field_setter(name) for name in _RECORD_FIELDS)
_new_object: Final = object.__new__


def _new_record(  # noqa: PLR0917 (positional: keywords cost a tenth of the call)
    message: Any,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    headers: list[tuple[str, bytes | None]],
    timestamp: datetime | None,
    ce_id: str | None,
    ce_source: str | None,
    ce_time: datetime | None,
) -> Record[Any]:
    """A Record built through its slots: a frozen dataclass's __init__ costs twice as much."""
    record: Record[Any] = _new_object(Record)
    _set_message(record, message)
    _set_topic(record, topic)
    _set_partition(record, partition)
    _set_offset(record, offset)
    _set_key(record, key)
    _set_headers(record, headers)
    _set_timestamp(record, timestamp)
    _set_ce_id(record, ce_id)
    _set_ce_source(record, ce_source)
    _set_ce_time(record, ce_time)
    return record


class _Tally:
    """What one subscription handled since its last push to Prometheus (once per fetched batch).

    Only the thread that polls touches it, so plain lists and ints do.
    """

    __slots__ = ("consumed", "durations", "lags", "series")

    def __init__(self, series: TopicMetrics) -> None:
        self.series = series
        self.consumed = 0
        self.durations: list[float] = []
        self.lags: list[float] = []

    def push(self) -> None:
        if self.consumed:
            self.series.consumed.inc(self.consumed)
            self.consumed = 0
        if self.durations:
            observe_many(self.series.handle_duration, self.durations)
            self.durations = []
        if self.lags:
            observe_many(self.series.end_to_end_lag, self.lags)
            self.lags = []


@dataclass(frozen=True, slots=True)
class _Subscription:
    topic: Topic[Any]
    handler: Callable[[Any], object]
    batch: bool
    max_messages: int
    max_wait: float
    dlq_topic: str
    tally: _Tally = field(compare=False)


class Consumer:
    """Consumes one or more bound topics in a consumer group and calls one handler per topic.

    ```
    consumer = Consumer(group_id="svc-search")
    consumer.subscribe(AUDIT_EVENTS_V1, handle_audit_event)   # handler(Record[AuditEvent])
    consumer.run()                                             # until stop() or Ctrl-C
    ```
    Records of other types, undecodable records and records that break the contract's field rules
    (unless the topic's validation mode is "off") go to `<topic>.dlq` with the envelope's
    `contracts_dlq_*` headers; a handler that still fails after the retry policy does too.
    """

    def __init__(
        self,
        *,
        group_id: str,
        config: Mapping[str, ConfigValue] | None = None,
        retry: RetryPolicy | None = None,
        registry: CollectorRegistry | None = None,
        tracer_provider: TracerProvider | None = None,
        tracing: bool = True,
        connect_timeout: float = 10.0,
        dead_letter_timeout: float = 30.0,
        fetch_max: int = 500,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        if not group_id:
            raise ValueError("a Consumer needs a group_id")
        self.group_id: Final = group_id
        self.retry: Final = retry if retry is not None else RetryPolicy()
        self._connection = connection
        self._config = config
        self._registry = registry
        self._timeout = connect_timeout
        self._dead_letter_timeout = dead_letter_timeout
        self._fetch_max = fetch_max
        self.settings: Final = {
            **CONSUMER_DEFAULTS,
            **client_config(**connection, config=config),
            **_FORCED,
            "group.id": group_id,
        }
        self._metrics = Metrics.for_registry(registry)
        self._tracing = Tracing(tracer_provider, enabled=tracing)
        self.broker_contact: Final = BrokerContact(
            f"consumer {group_id}", without_consumer_settings(client_config(**connection, config=config))
        )
        self._errors = ErrorWatch(f"consumer {group_id}", self.broker_contact)
        # What the health checks read (written by the polling thread, read by any): the state of
        # each assigned partition, replaced whole per statistics report, and since when the
        # handler in flight runs.
        self._assigned: set[tuple[str, int]] = set()
        self._partitions: dict[tuple[str, int], PartitionState] = {}
        self._in_flight_since: float | None = None
        self._read_committed = self.settings.get("isolation.level", "read_committed") == "read_committed"
        self._kafka = KafkaConsumer(
            {**self.settings, "error_cb": self._errors, "stats_cb": self._on_stats, "logger": LIBRDKAFKA_LOGGER}
        )
        try:
            check_connection(self._kafka, self.settings, self._errors, connect_timeout)
        except BaseException:
            _close_quietly(self._kafka)
            raise
        self.broker_contact.contact()
        self._subscriptions: dict[str, _Subscription] = {}
        self._dead_letters: Producer | None = None
        self._stopping = False  # a plain flag: stop() may be called from a signal handler
        self._closed = False
        self._wall_offset = 0.0  # time.time() - time.perf_counter(), taken per fetched batch
        # Conversion caches: records of one batch mostly share their timestamp, ce_time and ce_source.
        self._timestamps: dict[int, datetime] = {}
        self._ce_times: dict[bytes, tuple[datetime | None, float | None]] = {}
        self._sources: dict[bytes, str] = {}

    @property
    def client(self) -> KafkaConsumer:
        """The underlying confluent_kafka Consumer."""
        return self._kafka

    # --- subscribing ------------------------------------------------------------------

    def subscribe(self, topic: Topic[M], handler: Handler[M], *, dlq_topic: str | None = None) -> None:
        """Call `handler` with each record of `topic`, one at a time."""
        self._add(_Subscription(topic, handler, False, 1, 0.0, dlq_topic or topic.dlq_name, self._tally(topic)))

    def subscribe_batch(
        self,
        topic: Topic[M],
        handler: BatchHandler[M],
        *,
        max_messages: int = 500,
        max_wait: float = 1.0,
        dlq_topic: str | None = None,
    ) -> None:
        """Call `handler` with lists of up to `max_messages` records, gathered for up to `max_wait` s.

        Offsets are stored after the handler returns. A failing batch is retried per the retry
        policy; then each of its records is handed to the handler alone, once, and the records
        that still fail are dead-lettered (so one bad record does not dead-letter its batch).
        """
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self._add(
            _Subscription(topic, handler, True, max_messages, max_wait, dlq_topic or topic.dlq_name, self._tally(topic))
        )

    def _tally(self, topic: Topic[Any]) -> _Tally:
        return _Tally(self._metrics.topic(topic.name))

    def _add(self, subscription: _Subscription) -> None:
        name = subscription.topic.name
        if name in self._subscriptions:
            raise ValueError(f"{name} is already subscribed: one handler per topic")
        check_topics(self._kafka, [name, subscription.dlq_topic], self._timeout)
        self._subscriptions[name] = subscription
        self._kafka.subscribe(
            list(self._subscriptions), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )

    # --- running ----------------------------------------------------------------------

    def run(self, *, stop_after: int | None = None, timeout: float | None = None, poll_timeout: float = 1.0) -> int:
        """Consume until `stop()`, `stop_after` records or `timeout` seconds; returns the records processed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        processed = 0
        self._stopping = False
        while not self._stopping:
            if stop_after is not None and processed >= stop_after:
                break
            wait = poll_timeout
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            limit = None if stop_after is None else stop_after - processed
            processed += self._poll(wait, limit, interruptible=True)
        return processed

    def stop(self) -> None:
        """Make `run()` return after the records in hand (safe from other threads and signal handlers)."""
        self._stopping = True

    def poll_once(self, timeout: float = 1.0, *, limit: int | None = None) -> int:
        """Fetch what is available within `timeout` (at most `limit` records), process it; returns the count."""
        return self._poll(timeout, limit, interruptible=False)

    def _poll(self, timeout: float, limit: int | None, *, interruptible: bool) -> int:
        if self._closed:
            raise RuntimeError("poll on a closed Consumer")
        if not self._subscriptions:
            raise RuntimeError("subscribe to a topic before polling")
        self._errors.raise_if_fatal()
        fetched = self._fetch(timeout, limit)
        if fetched:
            self.broker_contact.contact()
        messages = [message for message in fetched if message.error() is None]
        if len(messages) < len(fetched):
            for message in fetched:
                error = message.error()
                if error is not None:
                    self._on_fetch_error(error)
        self._wall_offset = time.time() - time.perf_counter()
        subscriptions = self._subscriptions
        done: set[int] = set()  # indexes into messages whose offsets are stored
        batches: dict[str, list[tuple[int, Message]]] = {}
        try:
            for index, message in enumerate(messages):
                if interruptible and self._stopping:
                    break
                subscription = subscriptions[message.topic() or ""]
                if subscription.batch:
                    batches.setdefault(subscription.topic.name, []).append((index, message))
                    continue
                self._process(subscription, message)
                done.add(index)
            for name, items in batches.items():
                subscription = subscriptions[name]
                size = subscription.max_messages
                for start in range(0, len(items), size):
                    chunk = items[start : start + size]
                    self._process_batch(subscription, [message for _, message in chunk])
                    done.update(index for index, _ in chunk)
        finally:
            for subscription in subscriptions.values():
                subscription.tally.push()
            if len(done) < len(messages):
                # Fetched but not processed (stop, or an error escaped): fetch them again later, so
                # that no later stored offset can move the commit past them.
                self._rewind([message for index, message in enumerate(messages) if index not in done])
        return len(done)

    def _rewind(self, messages: list[Message]) -> None:
        first: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic() or "", message.partition() or 0)
            offset = message.offset() or 0
            first[key] = min(first.get(key, offset), offset)
        for (topic, partition), offset in first.items():
            try:
                self._kafka.seek(TopicPartition(topic, partition, offset))
            except KafkaException as error:  # no longer assigned: its next owner starts from the commit
                log.info("consumer %s: no rewind of %s[%d]: %s", self.group_id, topic, partition, error)

    def _fetch(self, timeout: float, limit: int | None) -> list[Message]:
        first = self._kafka.poll(timeout)
        if first is None:
            return []
        wanted = self._fetch_max if limit is None else min(limit, self._fetch_max)
        batch_subscriptions = [sub for sub in self._subscriptions.values() if sub.batch]
        if batch_subscriptions:
            wanted = max(wanted, *(sub.max_messages for sub in batch_subscriptions))
            if limit is not None:
                wanted = min(wanted, limit)
        messages = [first]
        if wanted > 1:
            messages += self._kafka.consume(wanted - 1, 0)
        if batch_subscriptions and len(messages) < wanted:
            # Gather up to max_wait (the shortest of the batch subscriptions) from the first record.
            wait = min(sub.max_wait for sub in batch_subscriptions)
            if wait > 0:
                messages += self._kafka.consume(wanted - len(messages), wait)
        return messages

    def _on_fetch_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.fatal() or error.code() in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.GROUP_AUTHORIZATION_FAILED,
            KafkaError._AUTHENTICATION,
        ):
            kind = ConnectionError if error.code() == KafkaError._AUTHENTICATION or error.fatal() else ConfigError
            raise kind(f"consumer {self.group_id}: {error.name()}: {error.str()}")
        log.warning("consumer %s: fetch error %s: %s", self.group_id, error.name(), error.str())

    # --- one record -------------------------------------------------------------------

    def _process(self, subscription: _Subscription, message: Message) -> None:
        decoded = self._decode(subscription, message)
        if decoded is None:
            self._store(message)
            return
        record, produced = decoded
        tally = subscription.tally
        started = time.perf_counter()
        self._in_flight_since = time.monotonic()
        tracing = self._tracing
        if tracing.enabled and tracing.recording():
            failure = self._process_traced(subscription, record)
        else:
            try:
                subscription.handler(record)
                failure = None
            except Exception as error:
                failure = self._retry(
                    lambda: subscription.handler(record), f"handler of {subscription.topic.name}", error
                )
        self._in_flight_since = None
        ended = time.perf_counter()
        tally.durations.append(ended - started)
        if failure is None:
            tally.consumed += 1
            if produced is not None:
                lag = ended + self._wall_offset - produced
                tally.lags.append(lag if lag > 0.0 else 0.0)
        else:
            self._dead_letter(subscription, [(message, failure)], envelope.REASON_HANDLER)
        # Stored at once, not gathered: a handler that blocks next must not hold back this offset.
        self._store(message)

    def _process_traced(self, subscription: _Subscription, record: Record[Any]) -> _Failed | None:
        with self._tracing.process(
            subscription.topic.name,
            group=self.group_id,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            headers=record.headers,
        ) as span:
            failure = self._call_with_retries(
                lambda: subscription.handler(record), f"handler of {subscription.topic.name}"
            )
            _mark(span, None if failure is None else failure.error)
        return failure

    def _decode(self, subscription: _Subscription, message: Message) -> tuple[Record[Any], float | None] | None:
        """The record and when it was produced (Unix seconds: ce_time, else the Kafka timestamp, else
        None), or None after dead-lettering a wrong-type or undecodable record."""
        headers = cast(_HeaderList, message.headers()) or []
        # The first occurrence of each header wins: reversed, the first ones are inserted last.
        first = dict(reversed(headers)) if headers else _NO_HEADERS
        try:
            decoded = subscription.topic._decode_value(message.value(), first.get(envelope.CE_TYPE))
        except WrongTypeError as error:
            now = _now_millis()
            self._dead_letter(subscription, [(message, _Failed(error, 0, now, now))], envelope.REASON_WRONG_TYPE)
            return None
        except DecodeError as error:
            now = _now_millis()
            self._dead_letter(subscription, [(message, _Failed(error, 0, now, now))], envelope.REASON_DECODE)
            return None
        check = subscription.topic._receive_check
        if check is not None:  # None in mode "off" and for a type without rules
            found = check(decoded)
            if found:
                topic = subscription.topic
                now = _now_millis()
                invalid = ValidationError(topic.name, topic.type_name, found)
                self._dead_letter(subscription, [(message, _Failed(invalid, 0, now, now))], envelope.REASON_VALIDATION)
                return None
        # The conversions below are cached: the records of a batch mostly share these values.
        timestamp_type, timestamp_ms = message.timestamp()
        timestamp = None
        if timestamp_type:
            timestamp = self._timestamps.get(timestamp_ms) or self._timestamp(timestamp_ms)
        raw_time = first.get(envelope.CE_TIME)
        ce_time, produced = _NO_TIME if raw_time is None else self._ce_times.get(raw_time) or self._ce_time(raw_time)
        if produced is None and timestamp_type:
            produced = timestamp_ms / 1000
        raw_source = first.get(envelope.CE_SOURCE)
        ce_source = None if raw_source is None else self._sources.get(raw_source) or self._source(raw_source)
        ce_id = first.get(envelope.CE_ID)
        record = _new_record(
            decoded,
            message.topic() or "",
            message.partition() or 0,
            message.offset() or 0,
            message.key(),
            headers,
            timestamp,
            None if ce_id is None else ce_id.decode("utf-8", "replace"),
            ce_source,
            ce_time,
        )
        return record, produced

    def _timestamp(self, millis: int) -> datetime:
        """The Kafka timestamp as a datetime, into the cache."""
        if len(self._timestamps) >= _CACHE_SIZE:
            self._timestamps.clear()
        moment = self._timestamps[millis] = datetime.fromtimestamp(millis / 1000, UTC)
        return moment

    def _ce_time(self, value: bytes) -> tuple[datetime | None, float | None]:
        """`ce_time` parsed, and as Unix seconds, into the cache."""
        if len(self._ce_times) >= _CACHE_SIZE:
            self._ce_times.clear()
        parsed = envelope.parse_ce_time(value)
        converted = self._ce_times[value] = (parsed, None if parsed is None else parsed.timestamp())
        return converted

    def _source(self, value: bytes) -> str:
        """`ce_source` as text, into the cache."""
        if len(self._sources) >= _CACHE_SIZE:
            self._sources.clear()
        text = self._sources[value] = value.decode("utf-8", "replace")
        return text

    def _call_with_retries(self, call: Callable[[], object], what: str) -> _Failed | None:
        """Run `call` per the retry policy; returns the last failure, or None once it succeeded."""
        try:
            call()
            return None
        except Exception as error:
            return self._retry(call, what, error)

    def _retry(self, call: Callable[[], object], what: str, error: Exception) -> _Failed | None:
        """The rest of the retry policy after the first call failed with `error`."""
        first_failure = _now_millis()
        attempts = self.retry.attempts
        for attempt in range(1, attempts):
            delay = self.retry.delay(attempt)
            log.warning(
                "%s failed (attempt %d of %d), retry in %.2fs: %s", what, attempt, attempts, delay, _one_line(error)
            )
            time.sleep(delay)
            try:
                call()
                return None
            except Exception as next_error:
                error = next_error
        log.error("%s failed %d times: %s", what, attempts, _one_line(error))
        return _Failed(error, attempts, first_failure, _now_millis())

    # --- batches ----------------------------------------------------------------------

    def _process_batch(self, subscription: _Subscription, messages: list[Message]) -> None:
        tally = subscription.tally
        records: list[Record[Any]] = []
        produced_at: list[float | None] = []
        decoded_messages: list[Message] = []
        for message in messages:
            decoded = self._decode(subscription, message)
            if decoded is not None:
                records.append(decoded[0])
                produced_at.append(decoded[1])
                decoded_messages.append(message)
        if records:
            started = time.perf_counter()
            self._in_flight_since = time.monotonic()
            tracing = self._tracing
            if tracing.enabled and tracing.recording():
                failure = self._process_batch_traced(subscription, records, decoded_messages)
            else:
                failure = self._call_with_retries(
                    lambda: subscription.handler(records), f"batch handler of {subscription.topic.name}"
                )
                if failure is not None:
                    self._one_by_one(subscription, records, decoded_messages, failure)
            self._in_flight_since = None
            ended = time.perf_counter()
            tally.durations.append(ended - started)
            if failure is None:
                tally.consumed += len(records)
                now = ended + self._wall_offset
                tally.lags += [max(0.0, now - produced) for produced in produced_at if produced is not None]
        self._store_batch(subscription.topic.name, messages)

    def _process_batch_traced(
        self, subscription: _Subscription, records: list[Record[Any]], messages: list[Message]
    ) -> _Failed | None:
        partition = records[0].partition if len({r.partition for r in records}) == 1 else None
        with self._tracing.process_batch(
            subscription.topic.name, group=self.group_id, partition=partition, headers=[r.headers for r in records]
        ) as span:
            failure = self._call_with_retries(
                lambda: subscription.handler(records), f"batch handler of {subscription.topic.name}"
            )
            if failure is not None:
                failed = self._one_by_one(subscription, records, messages, failure)
                _mark(span, failure.error if failed else None)
        return failure

    def _one_by_one(
        self, subscription: _Subscription, records: list[Record[Any]], messages: list[Message], batch_failure: _Failed
    ) -> int:
        """After a batch failed: each record alone (a batch of one) with its own attempts; dead-letter
        those that still fail. Returns their number."""
        tally = subscription.tally
        failures: list[tuple[Message, _Failed]] = []
        what = f"batch handler of {subscription.topic.name} (one record)"
        for record, message in zip(records, messages, strict=True):
            failure = self._call_with_retries(partial(subscription.handler, [record]), what)
            if failure is not None:
                # Counted as every call that contained the record: the batch's and its own.
                failures.append(
                    (
                        message,
                        _Failed(
                            failure.error, batch_failure.attempts + failure.attempts, batch_failure.first, failure.last
                        ),
                    )
                )
            else:
                tally.consumed += 1
                produced = record.ce_time or record.timestamp
                if produced is not None:
                    tally.lags.append(max(0.0, time.time() - produced.timestamp()))
        if failures:
            self._dead_letter(subscription, failures, envelope.REASON_HANDLER)
        return len(failures)

    # --- dead letters and offsets -----------------------------------------------------

    def _dead_letter(
        self, subscription: _Subscription, failures: Sequence[tuple[Message, _Failed]], reason: str
    ) -> None:
        """Write the failed records to the dead-letter topic and wait for Kafka's acknowledgement."""
        producer = self._dead_letter_producer()
        pending = []
        for message, failure in failures:
            headers = _dead_letter_headers(
                cast(_HeaderList, message.headers()) or [],
                [
                    (envelope.DLQ_REASON, reason.encode()),
                    (envelope.DLQ_ERROR, _one_line(failure.error)[:_MAX_ERROR_TEXT].encode()),
                    (envelope.DLQ_TOPIC, (message.topic() or "").encode()),
                    (envelope.DLQ_PARTITION, b"%d" % (message.partition() or 0)),
                    (envelope.DLQ_OFFSET, b"%d" % (message.offset() or 0)),
                    (envelope.DLQ_GROUP, self.group_id.encode()),
                    (envelope.DLQ_ATTEMPTS, b"%d" % failure.attempts),
                    (envelope.DLQ_FIRST_FAILURE_TIME, envelope.ce_time_at(failure.first)),
                    (envelope.DLQ_LAST_FAILURE_TIME, envelope.ce_time_at(failure.last)),
                    *_violations_header(failure.error),
                ],
            )
            future = producer.send_raw(subscription.dlq_topic, message.key(), message.value(), headers)
            pending.append((message, failure, future))
        for message, failure, future in pending:
            try:
                future.result(timeout=self._dead_letter_timeout)
            except Exception as error:
                raise DeadLetterError(
                    f"could not write {message.topic()}[{message.partition()}]@{message.offset()} to "
                    f"{subscription.dlq_topic} ({_one_line(error)}); stopping so that it is not skipped"
                ) from error
            log.warning(
                "dead-lettered %s[%s]@%s to %s (%s): %s",
                message.topic(),
                message.partition(),
                message.offset(),
                subscription.dlq_topic,
                reason,
                _one_line(failure.error)[:_MAX_ERROR_TEXT],
            )
            subscription.tally.series.dead_lettered(reason).inc()

    def _dead_letter_producer(self) -> Producer:
        if self._dead_letters is None:
            self._dead_letters = Producer(
                config={**_producer_side(self._config), "linger.ms": "0"},
                registry=self._registry,
                tracing=False,
                connect_timeout=self._timeout,
                **self._connection,
            )
        return self._dead_letters

    def _store(self, message: Message) -> None:
        try:
            self._kafka.store_offsets(message=message)
        except KafkaException as error:  # the partition was revoked meanwhile: its new owner replays it
            log.warning(
                "could not store offset %s[%s]@%s: %s", message.topic(), message.partition(), message.offset(), error
            )

    def _store_batch(self, topic: str, messages: list[Message]) -> None:
        # A batch holds one topic, and offsets ascend within a partition: its last record has the highest
        # (were it not so, a lower stored offset would replay records, never skip one).
        last = {message.partition(): message for message in messages}
        try:
            self._kafka.store_offsets(
                offsets=[
                    TopicPartition(topic, partition or 0, (message.offset() or 0) + 1)
                    for partition, message in last.items()
                ]
            )
        except KafkaException as error:
            log.warning("could not store batch offsets: %s", error)

    def commit(self) -> None:
        """Commit the stored offsets now, synchronously (close and rebalances do it too)."""
        try:
            self._kafka.commit(asynchronous=False)
        except KafkaException as error:
            if error.args and isinstance(error.args[0], KafkaError) and error.args[0].code() == KafkaError._NO_OFFSET:
                return  # nothing stored since the last commit
            raise

    # --- rebalances -------------------------------------------------------------------

    def _on_assign(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        log.info("consumer %s assigned %s", self.group_id, _partitions(partitions))
        self._assigned.update((p.topic, p.partition) for p in partitions)

    def _on_revoke(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        log.info("consumer %s revoked %s", self.group_id, _partitions(partitions))
        try:
            self.commit()
        except KafkaException as error:
            log.warning("consumer %s: commit on revoke failed: %s", self.group_id, error)
        self._release(partitions)

    def _on_lost(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        log.warning(
            "consumer %s lost %s; their uncommitted records will be replayed", self.group_id, _partitions(partitions)
        )
        self._release(partitions)

    def _release(self, partitions: list[TopicPartition]) -> None:
        """Forget revoked partitions: out of the lag gauge and the readiness check."""
        released = {(p.topic, p.partition) for p in partitions}
        self._assigned -= released
        self._partitions = {key: state for key, state in self._partitions.items() if key not in released}
        for topic, partition in released:
            with contextlib.suppress(KeyError):
                self._metrics.consumer_lag.remove(topic, str(partition))

    # --- statistics: offset lag and progress ------------------------------------------

    def _on_stats(self, report: str) -> None:
        """librdkafka's statistics (every `statistics.interval.ms`, served by poll): lag and progress."""
        try:
            stats = json.loads(report)
        except ValueError:
            return
        now = time.monotonic()
        if any(broker.get("state") == "UP" for broker in stats.get("brokers", {}).values()):
            self.broker_contact.contact(now)
        previous = self._partitions
        current: dict[tuple[str, int], PartitionState] = {}
        lag = self._metrics.consumer_lag
        for topic, topic_stats in stats.get("topics", {}).items():
            for partition_stats in topic_stats.get("partitions", {}).values():
                key = (topic, int(partition_stats.get("partition", -1)))
                if key not in self._assigned:
                    continue  # the internal "unassigned" partition -1, or one revoked meanwhile
                state = _partition_state(partition_stats, self._read_committed, previous.get(key), now)
                current[key] = state
                if state.lag is not None:
                    lag.labels(topic, str(key[1])).set(state.lag)
        self._partitions = current

    def progress(self) -> tuple[dict[tuple[str, int], PartitionState], float | None]:
        """What the readiness check reads: each assigned partition's state (from the last statistics
        report) and since when (time.monotonic()) the handler in flight runs, None when idle."""
        return self._partitions, self._in_flight_since

    # --- closing ----------------------------------------------------------------------

    def close(self) -> None:
        """Commit what was processed, leave the group, close the dead-letter producer."""
        if self._closed:
            return
        self._closed = True
        self.broker_contact.stop()
        try:
            self.commit()
        except KafkaException as error:
            log.warning("consumer %s: final commit failed: %s", self.group_id, error)
        finally:
            _close_quietly(self._kafka)
            if self._dead_letters is not None:
                self._dead_letters.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _producer_side(config: Mapping[str, ConfigValue] | None) -> dict[str, ConfigValue]:
    return without_consumer_settings(config or {})


def _close_quietly(kafka: KafkaConsumer) -> None:
    # close() raises the client's fatal error, if it had one; that error was reported already.
    try:
        kafka.close()
    except KafkaException as error:
        log.warning("consumer closed after a fatal error: %s", error)


def _mark(span: Span | None, failure: Exception | None) -> None:
    if span is not None and failure is not None:
        span.record_exception(failure)
        span.set_status(Status(StatusCode.ERROR, _one_line(failure)))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# A consumed record's headers: a list of (name, value) pairs (None without headers). An alias, so
# that cast() does not build the subscripted type anew per record.
_HeaderList: TypeAlias = list[tuple[str, bytes | None]]
_NO_HEADERS: Final[dict[str, bytes | None]] = {}
_NO_TIME: Final[tuple[None, None]] = (None, None)


def _partitions(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing"


class _Failed(NamedTuple):
    """A handler that still failed after its attempts: what the dead-letter headers say about it."""

    error: Exception
    attempts: int  # handler calls made for the record
    first: int  # when the first of them failed, Unix milliseconds
    last: int  # when the last of them failed


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


def _violations_header(error: Exception) -> list[tuple[str, bytes]]:
    if isinstance(error, ValidationError):
        return [(envelope.DLQ_VIOLATIONS, violations_header(error.violations))]
    return []


def _dead_letter_headers(
    original: list[tuple[str, bytes | None]], added: list[tuple[str, bytes]]
) -> list[tuple[str, bytes | str | None]]:
    """The record's headers without earlier contracts_dlq_* ones, plus `added`; a replayed record keeps
    its earlier first failure time (docs/runtime.md: headers never pile up, the history stays)."""
    earlier_first = None
    kept: list[tuple[str, bytes | str | None]] = []
    for name, value in original:
        if name.startswith(envelope.DLQ_PREFIX):
            if name == envelope.DLQ_FIRST_FAILURE_TIME and earlier_first is None and value:
                earlier_first = value
            continue
        kept.append((name, value))
    for name, value in added:
        keep_earlier = name == envelope.DLQ_FIRST_FAILURE_TIME and earlier_first is not None
        kept.append((name, earlier_first if keep_earlier else value))
    return kept


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One assigned partition as the last statistics report showed it (offsets, -1 when unknown)."""

    end: int  # the high watermark (the last stable offset under read_committed)
    position: int  # the next offset the consumer hands out
    committed: int
    committed_since: float  # time.monotonic() when `committed` last changed, or the partition was first seen

    @property
    def lag(self) -> int | None:
        """Records between the position (else the committed offset) and the end; None when unknown."""
        start = self.position if self.position >= 0 else self.committed
        if self.end < 0 or start < 0:
            return None
        return max(0, self.end - start)


def _partition_state(
    stats: Mapping[str, Any], read_committed: bool, previous: PartitionState | None, now: float
) -> PartitionState:
    end = int(stats.get("ls_offset" if read_committed else "hi_offset", -1))
    if end < 0:
        end = int(stats.get("hi_offset", -1))
    committed = int(stats.get("committed_offset", -1))
    position = int(stats.get("app_offset", -1))
    if position < 0:
        position = int(stats.get("stored_offset", -1))
    if committed < 0 <= int(stats.get("lo_offset", -1)) and position < 0:
        position = int(stats["lo_offset"])  # nothing consumed, nothing committed: it starts at the beginning
    since = now if previous is None or previous.committed != committed else previous.committed_since
    return PartitionState(end, position, committed, since)
