"""A typed producer: `producer.send(TOPIC, message)` returns a Future of Kafka's acknowledgement.

Everything in `send` and in the delivery report runs once per record, so both are kept to a few
attribute reads: the returned handle is a Future that builds its lock only when someone waits on
it, spans are made only when a tracer provider is configured, and the metrics of delivered
records are added to Prometheus in bulk (see `_TopicState`).
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from concurrent.futures._base import FINISHED, LOGGER, RUNNING  # the states concurrent.futures.wait reads
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, NamedTuple, Self, TypeVar, Unpack, cast

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka import Producer as KafkaProducer
from opentelemetry.trace import Span, TracerProvider
from prometheus_client import CollectorRegistry

from contracts_runtime import envelope
from contracts_runtime._client import LIBRDKAFKA_LOGGER, BrokerContact, ErrorWatch, check_connection, check_topics, log
from contracts_runtime.config import ConfigValue, ConnectionOptions, client_config
from contracts_runtime.errors import DeliveryError
from contracts_runtime.metrics import Metrics, TopicMetrics, observe_many
from contracts_runtime.topic import ProtoMessage, Topic
from contracts_runtime.tracing import Tracing

M = TypeVar("M", bound=ProtoMessage)

# Safe defaults; the `config=` dict overrides them.
PRODUCER_DEFAULTS: Final[Mapping[str, str]] = {
    "enable.idempotence": "true",
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": "5",
    # Hash keys as Kafka's Java client and the Go and Rust runtimes do, so a key lands on the same
    # partition whichever language wrote it (librdkafka's default is CRC32).
    "partitioner": "murmur2_random",
    # A typo in a topic name must fail, never create a topic.
    "allow.auto.create.topics": "false",
}
# send() serves the delivery reports that are ready every this many records (a poll(0)), so that a
# busy sender settles its own reports in its own thread instead of handing the GIL back and forth
# with the poll thread for each one. Not while `on_delivery` callbacks are due: those run on the
# poll thread (a callback that takes a lock its caller holds around send() must not deadlock).
_POLL_EVERY: Final = 64
# Meanwhile the poll thread keeps out of the way for this long after each such poll (seconds)...
_SENDER_GRACE: Final = 0.01
# ... and the sender adds the metrics of acknowledged records once this many are waiting.
_PUSH_EVERY: Final = 4096


class Delivery(NamedTuple):
    """Kafka's acknowledgement of one record."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    event_id: str


DeliveryCallback = Callable[[Delivery | None, DeliveryError | None], None]
# What confluent-kafka calls with each delivery report.
_ReportCallback = Callable[[KafkaError | None, Message], None]

# One lock for the state changes of every handle: a handle then needs no lock of its own, and the
# Conditions made for waiters share it (concurrent.futures.wait takes the `_condition` of each
# future it waits on, in turn: hence reentrant).
_HANDLES_LOCK: Final = threading.RLock()


class DeliveryHandle(Future[Delivery]):
    """What `send()` returns: a `concurrent.futures.Future` of the record's `Delivery`.

    It is a real Future (`result`, `exception`, `done`, `add_done_callback`,
    `concurrent.futures.wait`, `asyncio.wrap_future` all work), but a cheap one: a plain Future
    builds a Condition per record, which costs more than encoding and producing the record, while
    a handle builds it only for the first caller who waits. The record is queued already, so a
    handle cannot be cancelled.
    """

    # Class-level defaults: a fresh handle is an empty object until its delivery report arrives.
    _state = RUNNING
    _result: Delivery | None = None
    _exception: BaseException | None = None
    _lazy_condition: threading.Condition | None = None
    _lazy_waiters: list[Any] | None = None
    _lazy_callbacks: list[Callable[[Future[Delivery]], object]] | None = None

    def __init__(self) -> None:  # not Future.__init__: that builds the Condition this class avoids
        pass

    @property
    def _condition(self) -> threading.Condition:
        condition = self._lazy_condition
        if condition is None:
            with _HANDLES_LOCK:
                condition = self._lazy_condition
                if condition is None:
                    condition = self._lazy_condition = threading.Condition(_HANDLES_LOCK)
        return condition

    @_condition.setter
    def _condition(self, condition: threading.Condition) -> None:
        self._lazy_condition = condition

    @property
    def _waiters(self) -> list[Any]:
        # concurrent.futures.wait and as_completed append their waiters here.
        with _HANDLES_LOCK:
            waiters = self._lazy_waiters
            if waiters is None:
                waiters = self._lazy_waiters = []
            return waiters

    @_waiters.setter
    def _waiters(self, waiters: list[Any]) -> None:
        self._lazy_waiters = waiters

    def __repr__(self) -> str:
        if self._state != FINISHED:
            return f"<DeliveryHandle at {id(self):#x} state=running>"
        if self._exception is not None:
            return f"<DeliveryHandle at {id(self):#x} state=finished raised {type(self._exception).__name__}>"
        return f"<DeliveryHandle at {id(self):#x} state=finished returned Delivery>"

    def cancel(self) -> bool:
        return False

    def cancelled(self) -> bool:
        return False

    def running(self) -> bool:
        return self._state == RUNNING

    def done(self) -> bool:
        return self._state == FINISHED

    def result(self, timeout: float | None = None) -> Delivery:
        if self._state != FINISHED:
            self._wait(timeout)
        failure = self._exception
        if failure is not None:
            raise failure
        return cast(Delivery, self._result)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._state != FINISHED:
            self._wait(timeout)
        return self._exception

    def add_done_callback(self, fn: Callable[[Future[Delivery]], object]) -> None:
        with _HANDLES_LOCK:
            if self._state != FINISHED:
                if self._lazy_callbacks is None:
                    self._lazy_callbacks = []
                self._lazy_callbacks.append(fn)
                return
        _call_done_callback(fn, self)

    def set_result(self, result: Delivery) -> None:
        self._resolve(result, None)

    def set_exception(self, exception: BaseException | None) -> None:
        self._resolve(None, exception)

    def _wait(self, timeout: float | None) -> None:
        condition = self._condition
        with condition:
            if self._state != FINISHED:
                condition.wait(timeout)
            if self._state != FINISHED:
                raise TimeoutError()

    def _resolve(self, delivery: Delivery | None, failure: BaseException | None) -> None:
        with _HANDLES_LOCK:
            if self._state == FINISHED:
                raise InvalidStateError(f"{self!r} is resolved already")
            if failure is None:
                self._result = delivery
            else:
                self._exception = failure
            self._state = FINISHED
            if self._lazy_waiters:
                for waiter in self._lazy_waiters:
                    if failure is None:
                        waiter.add_result(self)
                    else:
                        waiter.add_exception(self)
            if self._lazy_condition is not None:
                self._lazy_condition.notify_all()
            callbacks = self._lazy_callbacks
        if callbacks:
            for fn in callbacks:
                _call_done_callback(fn, self)


def _call_done_callback(fn: Callable[[Future[Delivery]], object], handle: DeliveryHandle) -> None:
    try:
        fn(handle)
    except Exception:
        LOGGER.exception("exception calling callback for %r", handle)


class _TopicState:
    """What the delivery reports of one topic share: its series and the latencies not yet added.

    A report only appends its latency (the list's length is the number of records acknowledged
    since the last push); `Producer._push_metrics` adds them to Prometheus in bulk from the poll
    thread, `flush()` and `close()`. Label lookups and the locks of every series are then paid
    once per push instead of three times per record.
    """

    __slots__ = ("callbacks_due", "latencies", "series", "unobserved")

    def __init__(self, series: TopicMetrics, unobserved: list[DeliveryError], callbacks_due: set[int]) -> None:
        self.series = series
        self.latencies: list[float | None] = []
        self.unobserved = unobserved  # the producer's, shared by its topics
        self.callbacks_due = callbacks_due  # the producer's: ids of the reports with an on_delivery callback


class Producer:
    """Sends typed messages to their bound topics with the envelope's key and headers.

    A daemon thread serves delivery reports, so handles resolve without the caller polling;
    `send()` serves the ready ones too while records flow. Use it as a context manager, or call
    `close()`: both flush what is still queued. A record that fails when nobody can learn it any
    more (no `on_delivery`, handle dropped) is logged, counted and raised by the next `flush()` or
    `close()`.
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
        self.broker_contact: Final = BrokerContact("producer", client_config(**connection, config=config))
        self._errors = ErrorWatch("producer", self.broker_contact)
        self._kafka = KafkaProducer({**self.settings, "error_cb": self._errors, "logger": LIBRDKAFKA_LOGGER})
        # Per verified topic (by name); emptied by close(), so that a send after it takes the slow path.
        self._topics: dict[str, _TopicState] = {}
        self._unobserved: list[DeliveryError] = []  # failed deliveries nobody could see
        self._callbacks_due: set[int] = set()  # set.add and .discard are atomic: no lock
        self._push_lock = threading.Lock()
        self._unpolled = 0
        self._sender_serves = False
        self._open = True
        self._closed = threading.Event()
        try:
            check_connection(self._kafka, self.settings, self._errors, connect_timeout)
            self.check_topics(topic.name for topic in topics)
        except BaseException:
            _close_quietly(self._kafka)
            raise
        self.broker_contact.contact()
        self._poller = threading.Thread(target=self._serve_deliveries, name="contracts-producer-poll", daemon=True)
        self._poller.start()

    @property
    def client(self) -> KafkaProducer:
        """The underlying confluent_kafka Producer."""
        return self._kafka

    def check_topics(self, names: Iterable[str]) -> None:
        """Raise ConfigError unless every topic exists; topics seen once are not checked again."""
        pending = [name for name in names if name not in self._topics]
        if pending:
            check_topics(self._kafka, pending, self._timeout)
            for name in pending:
                self._topic_state(name)

    def send(
        self,
        topic: Topic[M],
        message: M,
        *,
        headers: Sequence[tuple[str, bytes]] = (),
        event_id: str | None = None,
        time: datetime | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> DeliveryHandle:
        """Queue `message` for `topic`; the handle (a Future) resolves to a Delivery or fails with DeliveryError.

        Raises TypeError when `message` is not the topic's type, ValidationError when it breaks
        the contract's field rules (topic mode "reject"; nothing is sent), ConfigError when the
        topic does not exist or the credentials were refused.
        """
        if topic._send_check is not None:  # None for a type without rules: no cost at all
            topic.check_send(message)
        state = self._topics.get(topic.name)
        if state is None or self._errors.fatal is not None:
            state = self._open_topic(topic.name)
        record = topic.encode(message, source=self._source_argument, event_id=event_id, time=time, headers=headers)
        span = None
        tracing = self._tracing
        if tracing.enabled and tracing.recording():
            span, trace_headers = tracing.start_send(topic.name, record.key)
            record.headers.extend(trace_headers)
        # Any, not cast(): the stub of produce() wants a list of wider tuples (lists are invariant).
        record_headers: Any = record.headers
        handle = _new_handle(DeliveryHandle)
        # ce_id is always the second header (envelope order).
        report = _new_tuple(_Report, (state, _weak(handle), record_headers[1][1], on_delivery, span))
        if on_delivery is not None:
            self._callbacks_due.add(id(report))
        try:
            try:
                self._kafka.produce(record.topic, record.value, record.key, headers=record_headers, on_delivery=report)
            except BufferError:
                self._produce_when_room(record.topic, record.key, record.value, record_headers, report)
        except BaseException as error:
            self._callbacks_due.discard(id(report))
            tracing.end_send(span, None, None, error if isinstance(error, Exception) else None)
            raise
        self._unpolled += 1
        if self._unpolled >= _POLL_EVERY and not self._callbacks_due:
            self._serve_in_sender(state)
        return handle

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | str | None]],
    ) -> DeliveryHandle:
        """Queue an already-encoded record (dead-lettering uses this); no type check, no envelope."""
        state = self._topics.get(topic)
        if state is None or self._errors.fatal is not None:
            self._errors.raise_if_fatal()
            state = self._topic_state(topic)
        handle = _new_handle(DeliveryHandle)
        ce_id = envelope.header(headers, envelope.CE_ID) or b""
        report = _new_tuple(_Report, (state, _weak(handle), ce_id, None, None))
        self._produce_when_room(topic, key, value, list(headers), report)
        return handle

    def _open_topic(self, name: str) -> _TopicState:
        """The slow path of send(): a closed producer, a fatal error, or a topic not checked yet."""
        if not self._open:
            raise RuntimeError("send() on a closed Producer")
        self._errors.raise_if_fatal()
        self.check_topics([name])
        return self._topics[name]

    def _topic_state(self, name: str) -> _TopicState:
        state = self._topics.get(name)
        if state is None:
            state = _TopicState(self._metrics.topic(name), self._unobserved, self._callbacks_due)
            if self._open:  # setdefault: two threads sending to a new topic share one state
                state = self._topics.setdefault(name, state)
        return state

    def _produce_when_room(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | str | None]],
        report: _ReportCallback,
    ) -> None:
        deadline = 0.0
        while True:
            try:
                self._kafka.produce(topic, value, key, headers=cast(Any, headers), on_delivery=report)
                return
            except BufferError:
                # The local queue is full: serve delivery reports until there is room, within a bound.
                now = time.monotonic()
                deadline = deadline or now + self._queue_full_timeout
                if now >= deadline:
                    raise DeliveryError(
                        topic, "_QUEUE_FULL", f"the producer queue stayed full for {self._queue_full_timeout:g}s"
                    ) from None
                self._kafka.poll(0.01)

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every queued record is acknowledged (or `timeout` passes); returns how many remain.

        Raises DeliveryError when records failed that nobody could learn about otherwise (sent
        without `on_delivery`, their handles dropped): each was logged and counted as well.
        """
        remaining = self._kafka.flush(-1 if timeout is None else timeout)
        self._push_metrics()
        self._raise_unobserved()
        return remaining

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then stop. Records still undelivered after `timeout` fail their handles (_PURGE_QUEUE).

        Raises DeliveryError after closing when records failed that nobody could learn about.
        """
        if self._closed.is_set():
            return
        remaining = self._kafka.flush(timeout)
        if remaining:
            log.warning("producer closed with %d undelivered records; their handles fail", remaining)
            self._kafka.purge()
        self._open = False
        self.broker_contact.stop()
        states, self._topics = list(self._topics.values()), {}
        self._closed.set()
        self._poller.join()
        self._kafka.flush(1.0)  # serves the purge reports
        _close_quietly(self._kafka)
        self._push_metrics(states)
        self._raise_unobserved()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        # Already failing: close, but let the original error through (lost records were logged).
        with contextlib.suppress(DeliveryError):
            self.close()

    def _serve_in_sender(self, state: _TopicState) -> None:
        self._unpolled = 0
        if self._kafka.poll(0):  # reports were waiting: this sender is busy, it serves them from now on
            self._sender_serves = True
        if len(state.latencies) >= _PUSH_EVERY:
            self._push_metrics()

    def _serve_deliveries(self) -> None:
        # While send() serves the reports itself, this thread stays out of its way: serving them
        # here too would take the GIL from the sender for every single report.
        while not self._closed.is_set():
            if self._sender_serves:
                self._sender_serves = False
                self._closed.wait(_SENDER_GRACE)
                continue
            self._kafka.poll(0.1)
            self._push_metrics()

    def _push_metrics(self, states: Iterable[_TopicState] | None = None) -> None:
        """Add the deliveries counted by the reports since the last push to their Prometheus series."""
        with self._push_lock:
            for state in list(self._topics.values()) if states is None else states:
                pending = state.latencies
                count = len(pending)
                if count:
                    self.broker_contact.contact()  # acknowledged records: a broker answered
                    latencies = pending[:count]
                    del pending[:count]  # appends made meanwhile stay for the next push
                    state.series.produced.inc(count)
                    observe_many(state.series.produce_latency, latencies)

    def _raise_unobserved(self) -> None:
        with self._push_lock:
            failures = self._unobserved[:]
            del self._unobserved[: len(failures)]
        if failures:
            first = failures[0]
            if len(failures) > 1:
                first.add_note(f"{len(failures) - 1} more records were not delivered (each was logged)")
            raise first


class _Report(NamedTuple):
    """The delivery callback of one record; a tuple, built without running Python code."""

    state: _TopicState
    handle: weakref.ref[DeliveryHandle]  # a weak reference: a dropped handle means nobody is listening
    event_id: bytes
    callback: DeliveryCallback | None
    span: Span | None

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        state = self.state
        if self.callback is not None:
            state.callbacks_due.discard(id(self))
        if error is None:
            state.latencies.append(message.latency())
            handle = self.handle()
            callback = self.callback
            if handle is None and callback is None and self.span is None:
                return  # the common fire-and-forget case: counted, nothing else to tell
            timestamp_type, timestamp_ms = message.timestamp()
            delivery = Delivery(
                message.topic() or "",
                message.partition() or 0,
                message.offset() or 0,
                datetime.fromtimestamp(timestamp_ms / 1000, UTC) if timestamp_type else None,
                self.event_id.decode(),
            )
            Tracing.end_send(self.span, delivery.partition, delivery.offset, None)
            if handle is not None:
                handle._resolve(delivery, None)
            if callback is not None:
                _notify(callback, delivery, None)
            return
        topic = message.topic() or ""
        failure = DeliveryError(topic, error.name(), error.str(), retriable=error.retriable())
        # Always logged: a caller that drops the handle must still learn that a record was lost.
        log.error("record %s not delivered: %s", self.event_id.decode(errors="replace"), failure)
        state.series.produce_errors.inc()
        Tracing.end_send(self.span, None, None, failure)
        handle = self.handle()
        if handle is not None:
            handle._resolve(None, failure)
        if self.callback is not None:
            _notify(self.callback, None, failure)
        elif handle is None:
            state.unobserved.append(failure)


def _notify(callback: DeliveryCallback, delivery: Delivery | None, failure: DeliveryError | None) -> None:
    try:
        callback(delivery, failure)
    except Exception:
        log.exception("on_delivery callback raised")


# Construction without running Python-level __new__/__init__: a measurable share of a send. (Typed
# loosely: mypy does not see that a NamedTuple with __call__ is callable.)
_new_tuple: Final[Callable[..., Any]] = tuple.__new__
_new_handle: Final = object.__new__
_weak: Final = weakref.ref


def _close_quietly(kafka: KafkaProducer) -> None:
    # close() raises the client's fatal error, if it had one; that error was reported already.
    try:
        kafka.close()
    except KafkaException as error:
        log.warning("producer closed after a fatal error: %s", error)
