"""The Kafka writer: output records and consumed offsets committed in one Kafka transaction.

The transactional id is `<CONNECT_NAME>-<CONNECT_REPLICA_ID>` when a replica id is set (a
StatefulSet's pod name, say): stable across restarts, so a restarted replica's
`init_transactions` aborts what its previous incarnation left open at once. Without one it is
`<CONNECT_NAME>-<random>` per process. Both are safe against zombies: offsets go through
`send_offsets_to_transaction` with the consumer's group metadata (KIP-447), so the broker
refuses a commit from a member of an older group generation. The cost of a per-process id is that
a crashed process's open transaction is aborted only by `transaction.timeout.ms` (30 s here),
during which `read_committed` readers of those partitions wait.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Final

from confluent_kafka import KafkaException

from contracts_runtime import Metrics, Producer, RetryPolicy, Topic
from contracts_runtime.connect.pipeline import (
    Batch,
    ConnectorMetrics,
    TopicPartitionKey,
    log,
    one_line,
    send_dead_letters,
)
from contracts_runtime.errors import ContractError
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
        self.transactional_id = transactional_id(connector, replica_id)
        self._source = source
        self._tracing = Tracing()
        self._produced = Metrics.for_registry(metrics.registry).topic(topic.name).produced
        self._producer = Producer(
            source=source,
            registry=metrics.registry,
            config={
                "transactional.id": self.transactional_id,
                "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                "linger.ms": 5,
            },
        )
        self._producer.check_topics([topic.name, topic.dlq_name])
        self._producer.client.init_transactions(30)

    def stored_offsets(self, partitions: Sequence[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        return {}  # Kafka's committed offsets are the transaction's: the consumer's default is right

    def write(self, batch: Batch) -> None:
        client = self._producer.client
        assert batch.group_metadata is not None  # the Kafka reader always gives it
        for attempt in range(1, self._retry.attempts + 1):
            client.begin_transaction()
            try:
                uncounted = self._send(batch)
                if batch.failures:
                    send_dead_letters(self._producer, batch.failures, self._connector, self._metrics, wait=False)
                client.send_offsets_to_transaction(batch.partitions(), batch.group_metadata(), 30)
                client.commit_transaction(60)
                self._produced.inc(uncounted)
                return
            except KafkaException as error:
                kafka_error = error.args[0]
                if not kafka_error.txn_requires_abort() or attempt == self._retry.attempts:
                    raise  # fenced or fatal: the process stops, a restart resumes from the committed offsets
                log.warning("transaction aborted (attempt %d): %s", attempt, one_line(str(kafka_error)))
                client.abort_transaction(30)
                time.sleep(self._retry.delay(attempt))
        raise ContractError("unreachable")

    def _send(self, batch: Batch) -> int:
        """Queue the batch's records through the topic's contract; returns how many are still to count.

        Without tracing they skip `Producer.send`'s per-record delivery handle and report (a
        Python call per record on the delivery thread): a transaction does not need them, since
        `commit_transaction` fails, and the batch is retried, if any record was not delivered.
        `Topic.encode` still checks each message's type and writes the envelope; the records are
        counted in contracts_records_produced_total once the transaction commits.
        """
        topic = self.topic
        if self._tracing.enabled and self._tracing.recording():  # send spans and traceparent headers
            for item in batch.items:
                self._producer.send(topic, item.message)
            return 0  # counted by the delivery reports
        encode, produce, source = topic.encode, self._producer.client.produce, self._source
        for item in batch.items:
            record = encode(item.message, source=source)
            try:
                produce(record.topic, record.value, record.key, headers=record.headers)  # type: ignore[arg-type]
            except BufferError:  # the local queue is full: let librdkafka send some, then once more
                self._producer.client.flush(30)
                produce(record.topic, record.value, record.key, headers=record.headers)  # type: ignore[arg-type]
        return len(batch.items)

    def close(self) -> None:
        self._producer.close()
