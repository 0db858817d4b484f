"""The Kafka reader: a consumer group member that decodes, transforms and hands batches to a writer.

Kafka's consumer-group protocol spreads the partitions over the replicas that share CONNECT_NAME;
each batch is written (and its offsets stored by the writer or committed here) before the next
fetch, so a rebalance never finds a batch in flight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, cast

from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import Gauge

from contracts_runtime import Topic, client_config, envelope
from contracts_runtime.connect import transforms
from contracts_runtime.connect.errors import ConnectConfigError, FencedError
from contracts_runtime.connect.pipeline import (
    Batch,
    ConnectorMetrics,
    Failure,
    Item,
    Progress,
    TopicPartitionKey,
    Writer,
    log,
    one_line,
)
from contracts_runtime.envelope import Headers
from contracts_runtime.errors import DecodeError, WrongTypeError
from contracts_runtime.tracing import Tracing

CONSUMER_SETTINGS: Final[dict[str, str]] = {
    "enable.auto.commit": "false",
    "enable.auto.offset.store": "false",
    "auto.offset.reset": "earliest",
    "allow.auto.create.topics": "false",
    # Exactly-once outputs upstream are read as committed; plain topics read the same either way.
    "isolation.level": "read_committed",
    # A replica killed without leaving the group hands its partitions on after this long.
    "session.timeout.ms": "10000",
    "heartbeat.interval.ms": "1000",
}
REASON_DECODE: Final = envelope.REASON_DECODE
REASON_WRONG_TYPE: Final = envelope.REASON_WRONG_TYPE
REASON_TRANSFORM: Final = envelope.REASON_HANDLER


class KafkaReader:
    def __init__(
        self,
        *,
        connector: str,
        topics: Sequence[Topic[Any]],
        chain: Sequence[transforms.Transform],
        writer: Writer,
        metrics: ConnectorMetrics,
        progress: Progress,
        batch_max: int,
        batch_wait: float,
        replica_id: str | None,
        mirror_offsets: bool,
    ) -> None:
        self._connector = connector
        self._topics = {topic.name: topic for topic in topics}
        self._chain = list(chain)
        self._writer = writer
        self._metrics = metrics
        self._progress = progress
        self._batch_max = batch_max
        self._batch_wait = batch_wait
        self._mirror_offsets = mirror_offsets  # commit to Kafka too (lag tools), when the writer owns offsets
        self._tracing = Tracing()
        self._lag_children: dict[TopicPartitionKey, Gauge] = {}
        # Series children bound once: a labels() lookup takes a lock and a dict per call.
        self._read = metrics.read.labels(connector)
        self._written = metrics.written.labels(connector)
        self._batch_size = metrics.batch_size.labels(connector)
        self._write_duration = metrics.write_duration.labels(connector)
        self._dropped = {step.name: metrics.dropped.labels(connector, step.name) for step in chain}
        settings = {**CONSUMER_SETTINGS, **client_config(), "group.id": connector}
        if replica_id:
            # Static membership: a restarted replica gets its partitions back without a rebalance.
            settings["group.instance.id"] = f"{connector}-{replica_id}"
        self._consumer = KafkaConsumer(
            {**settings, "error_cb": self._on_error, "logger": logging.getLogger("contracts_runtime.librdkafka")}
        )
        self._check_topics([name for topic in topics for name in (topic.name, topic.dlq_name)])

    def _on_error(self, error: KafkaError) -> None:
        log.warning("consumer %s: kafka error %s: %s", self._connector, error.name(), error.str())

    def _check_topics(self, names: list[str]) -> None:
        problems = []
        try:
            metadata = self._consumer.list_topics(timeout=10)
        except KafkaException as error:
            self._consumer.close()
            raise ConnectConfigError(f"cannot reach Kafka (KAFKA_BOOTSTRAP_SERVERS): {error.args[0]}") from None
        for name in names:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None:
                problems.append(name)
        if problems:
            self._consumer.close()
            raise ConnectConfigError(
                f"topics missing on the cluster: {', '.join(problems)} (contracts apply creates them)"
            )

    # --- rebalances ------------------------------------------------------------------------

    def _on_assign(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        stored = self._writer.stored_offsets([(p.topic, p.partition) for p in partitions])
        for partition in partitions:
            offset = stored.get((partition.topic, partition.partition))
            if offset is not None:
                partition.offset = offset
        log.info("assigned %s", _describe(partitions))
        consumer.assign(partitions)

    def _on_revoke(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        log.info("revoked %s", _describe(partitions))
        keys = [(p.topic, p.partition) for p in partitions]
        forget = getattr(self._writer, "forget", None)
        if forget is not None:
            forget(keys)
        for key in keys:
            self._progress.lag.pop(key, None)
            if self._lag_children.pop(key, None) is not None:
                self._metrics.lag.remove(self._connector, key[0], str(key[1]))
        consumer.unassign()

    # --- the loop --------------------------------------------------------------------------

    def run(self, stopping: Callable[[], bool]) -> None:
        self._consumer.subscribe(list(self._topics), on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            while not stopping():
                messages = self._consumer.consume(self._batch_max, self._batch_wait)
                self._progress.last_contact = time.monotonic()
                if messages:
                    self._handle(messages)
        finally:
            self._consumer.close()  # leaves the group: the partitions move at once

    def _handle(self, fetched: list[Message]) -> None:
        items, failures, offsets = self._decode_and_transform(fetched)
        if not offsets:
            return
        batch = Batch(items, failures, offsets, self._consumer.consumer_group_metadata)
        started = time.monotonic()
        self._progress.batch_started = started
        try:
            self._write(batch, fetched)
        except FencedError as error:
            log.warning("fenced, rewinding to the stored offsets: %s", error)
            self._rewind(list(offsets))
            return
        finally:
            self._progress.batch_started = None
        ended = time.monotonic()
        self._progress.last_write = ended
        self._read.inc(len(fetched))
        self._written.inc(len(items))
        self._batch_size.observe(len(fetched))
        self._write_duration.observe(ended - started)
        if not self._writer.owns_offsets:
            self._consumer.commit(offsets=batch.partitions(), asynchronous=False)
        elif self._mirror_offsets:
            self._consumer.commit(offsets=batch.partitions(), asynchronous=True)
        self._record_lag(offsets)

    def _decode_and_transform(
        self, fetched: list[Message]
    ) -> tuple[list[Item], list[Failure], dict[TopicPartitionKey, int]]:
        """The hot path: one pass per record, with what it needs bound to locals."""
        items: list[Item] = []
        failures: list[Failure] = []
        offsets: dict[TopicPartitionKey, int] = {}
        topics, chain, dropped = self._topics, self._chain, self._dropped
        for message in fetched:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("fetch error: %s", error.str())
                continue
            topic_name = message.topic() or ""
            offsets[(topic_name, message.partition() or 0)] = (message.offset() or 0) + 1
            try:
                output = topics[topic_name].decode(message.value(), cast(Headers, message.headers()))
            except WrongTypeError as failure:
                failures.append(Failure(Item(message), REASON_WRONG_TYPE, one_line(failure)))
                continue
            except DecodeError as failure:
                failures.append(Failure(Item(message), REASON_DECODE, one_line(failure)))
                continue
            for step in chain:
                try:
                    output = step.function(output)
                except Exception as failure:  # a transform's bug or a record it cannot take: dead-lettered
                    failures.append(Failure(Item(message), REASON_TRANSFORM, one_line(failure), 1))
                    break
                if output is None:
                    dropped[step.name].inc()
                    break
            else:
                items.append(Item(message, output))
        return items, failures, offsets

    def _write(self, batch: Batch, fetched: list[Message]) -> None:
        if not (self._tracing.enabled and self._tracing.recording()):
            self._writer.write(batch)
            return
        partitions = {message.partition() for message in fetched}
        with self._tracing.process_batch(
            fetched[0].topic() or "",
            group=self._connector,
            partition=partitions.pop() if len(partitions) == 1 else None,
            headers=[cast(Headers, message.headers()) for message in fetched],
        ):
            self._writer.write(batch)

    def _rewind(self, partitions: list[TopicPartitionKey]) -> None:
        stored = self._writer.stored_offsets(partitions)
        for (topic, partition), offset in stored.items():
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as error:  # no longer assigned: its new owner reads it
                log.info("not seeking %s[%d]: %s", topic, partition, error.args[0])

    def _record_lag(self, offsets: dict[TopicPartitionKey, int]) -> None:
        for key, position in offsets.items():
            try:
                # cached: the high watermark of the last fetch response, no broker round trip.
                _, high = self._consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
            except KafkaException:
                continue
            if high >= 0:
                lag = max(0, high - position)
                self._progress.lag[key] = lag
                child = self._lag_children.get(key)
                if child is None:
                    child = self._lag_children[key] = self._metrics.lag.labels(self._connector, key[0], str(key[1]))
                child.set(lag)


def _describe(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]@{p.offset}" for p in partitions) or "nothing"
