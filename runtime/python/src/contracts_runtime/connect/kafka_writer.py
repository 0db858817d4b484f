"""The Kafka writer: output records and consumed offsets committed in one Kafka transaction.

The transactional id is `<CONNECT_NAME>-<CONNECT_REPLICA_ID>` when a replica id is set (a
StatefulSet's pod name, say): stable across restarts, so a restarted replica's
`init_transactions` aborts what its previous incarnation left open at once. Without one it is
`<CONNECT_NAME>-<random>` per process. Both are safe against zombies: offsets go through
`send_offsets_to_transaction` with the consumer's group metadata (KIP-447), so the broker
refuses a commit from a member of an older group generation. The cost of a per-process id is that
a crashed process's open transaction is aborted only by `transaction.timeout.ms` (30 s here),
during which `read_committed` readers of those partitions wait.

The writer drives a plain confluent-kafka producer, not the runtime's `Producer`: that one serves
delivery reports on a thread of its own, and a second thread polling a transactional producer
halved the throughput of a consume-transform-produce loop (benchmarks/connect.py, 2026-11-29).
A transaction needs no per-record report: `commit_transaction` fails, and the batch is retried,
if any record was not delivered. The output still goes through the topic's contract
(`Topic.encode`: the type check and the envelope) with the runtime's producer settings.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka import Producer as KafkaProducer

from contracts_runtime import Metrics, RetryPolicy, Topic, client_config
from contracts_runtime.connect.errors import ConnectConfigError
from contracts_runtime.connect.pipeline import (
    Batch,
    ConnectorMetrics,
    TopicPartitionKey,
    dead_letter_headers,
    log,
    note_dead_letters,
    one_line,
)
from contracts_runtime.errors import ContractError
from contracts_runtime.producer import PRODUCER_DEFAULTS
from contracts_runtime.tracing import Tracing

TRANSACTION_TIMEOUT_MS: Final = 30_000


def transactional_id(connector: str, replica_id: str | None) -> str:
    return f"{connector}-{replica_id}" if replica_id else f"{connector}-{os.urandom(6).hex()}"


class KafkaWriter:
    owns_offsets = True

    def __init__(
        self,
        *,
        connector: str,
        topic: Topic[Any],
        replica_id: str | None,
        metrics: ConnectorMetrics,
        source: str,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.input_type: type | None = topic.message_type
        self.topic = topic
        self._connector = connector
        self._metrics = metrics
        self._retry = retry or RetryPolicy()
        self._source = source
        self._tracing = Tracing()
        self._produced = Metrics.for_registry(metrics.registry).topic(topic.name).produced
        self.transactional_id = transactional_id(connector, replica_id)
        settings = client_config(
            config={
                "transactional.id": self.transactional_id,
                "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                "linger.ms": 5,
            }
        )
        self._client = KafkaProducer(
            {
                **PRODUCER_DEFAULTS,
                **settings,
                "error_cb": self._on_error,
                "logger": logging.getLogger("contracts_runtime.librdkafka"),
            }
        )
        self._check_topics([topic.name, topic.dlq_name])
        self._client.init_transactions(30)

    def _on_error(self, error: KafkaError) -> None:
        log.warning("producer %s: kafka error %s: %s", self.transactional_id, error.name(), error.str())

    def _check_topics(self, names: list[str]) -> None:
        try:
            metadata = self._client.list_topics(timeout=10)
        except KafkaException as error:
            raise ConnectConfigError(f"cannot reach Kafka (KAFKA_BOOTSTRAP_SERVERS): {error.args[0]}") from None
        missing = [name for name in names if name not in metadata.topics or metadata.topics[name].error is not None]
        if missing:
            raise ConnectConfigError(
                f"topics missing on the cluster: {', '.join(missing)} (contracts apply creates them)"
            )

    def stored_offsets(self, partitions: Sequence[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        return {}  # Kafka's committed offsets are the transaction's: the consumer's default is right

    def write(self, batch: Batch) -> None:
        client = self._client
        assert batch.group_metadata is not None  # the Kafka reader always gives it
        for attempt in range(1, self._retry.attempts + 1):
            client.begin_transaction()
            try:
                self._send(batch)
                client.send_offsets_to_transaction(batch.partitions(), batch.group_metadata(), 30)
                client.commit_transaction(60)
            except KafkaException as error:
                kafka_error = error.args[0]
                if not kafka_error.txn_requires_abort() or attempt == self._retry.attempts:
                    raise  # fenced or fatal: the process stops, a restart resumes from the committed offsets
                log.warning("transaction aborted (attempt %d): %s", attempt, one_line(str(kafka_error)))
                client.abort_transaction(30)
                time.sleep(self._retry.delay(attempt))
                continue
            self._produced.inc(len(batch.items))
            note_dead_letters(batch.failures, self._metrics)
            return
        raise ContractError("unreachable")

    def _send(self, batch: Batch) -> None:
        """Queue the batch's records and dead letters in the open transaction."""
        encode, produce, source = self.topic.encode, self._client.produce, self._source
        traced = self._tracing.enabled and self._tracing.recording()
        for item in batch.items:
            record = encode(item.message, source=source)
            if traced:  # a `send {topic}` span per record, its context in the record's headers
                span, trace_headers = self._tracing.start_send(record.topic, record.key)
                record.headers.extend(trace_headers)
                self._produce(record.topic, record.key, record.value, record.headers, _ended(span))
            else:
                try:
                    produce(record.topic, record.value, record.key, headers=record.headers)  # type: ignore[arg-type]
                except BufferError:
                    self._produce(record.topic, record.key, record.value, record.headers)
        for failure in batch.failures:
            item = failure.item
            self._produce(item.topic + ".dlq", item.key, item.value, dead_letter_headers(failure, self._connector))

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | None]],
        on_delivery: Any = None,
    ) -> None:
        try:
            self._client.produce(topic, value, key, headers=list(headers), on_delivery=on_delivery)
        except BufferError:  # the local queue is full: let librdkafka send what it holds, then once more
            self._client.flush(30)
            self._client.produce(topic, value, key, headers=list(headers), on_delivery=on_delivery)

    def close(self) -> None:
        self._client.flush(30)


def _ended(span: Any) -> Any:
    def report(error: KafkaError | None, message: Message) -> None:
        failure = None if error is None else KafkaException(error)
        Tracing.end_send(span, message.partition(), message.offset(), failure)

    return report
