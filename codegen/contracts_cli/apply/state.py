"""Apply's record of the ACLs it grants, kept on the cluster in one compacted topic.

Kafka ACLs carry no owner or comment, so apply remembers which ones the contracts granted:
one record per bound topic, key = the topic's name, value = the ACLs its contract granted at
the last apply (JSON). Apply revokes an ACL only when a declared topic's record holds it and
no contract grants it any more; ACLs written by people or other tools are never in a record,
so they are never touched. A topic removed from the registry keeps its record and its ACLs,
as it keeps the topic itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from contracts_cli.apply.desired import CLEANUP_POLICY, AclSpec, TopicSpec
from contracts_cli.errors import ContractsError
from contracts_cli.kafka import REQUEST_TIMEOUT_SECONDS, client_settings, describe_failure

STATE_TOPIC = "_contracts-apply-state"
STATE_TOPIC_PURPOSE = "apply's record of the ACLs the contracts grant"
_FORMAT_VERSION = 1


def state_topic_spec() -> TopicSpec:
    # Cluster defaults for partitions and replication factor: production clusters default to
    # their safe replication factor, development clusters to what they can host.
    return TopicSpec(
        name=STATE_TOPIC,
        partitions=1,
        replication_factor=None,
        configs={CLEANUP_POLICY: "compact"},
        contract=STATE_TOPIC,
        location="",
    )


def encode(acls: frozenset[AclSpec]) -> bytes | None:
    """A record value; None (a tombstone) when the contract grants nothing."""
    if not acls:
        return None
    rows = [[acl.resource_type, acl.resource_name, acl.principal, acl.operation] for acl in sorted(acls)]
    return json.dumps({"version": _FORMAT_VERSION, "acls": rows}, separators=(",", ":")).encode()


def decode(value: bytes | None) -> frozenset[AclSpec]:
    if not value:
        return frozenset()
    try:
        document = json.loads(value)
        return frozenset(AclSpec(*(str(part) for part in row)) for row in document["acls"])
    except (ValueError, KeyError, TypeError) as error:
        message = f"{STATE_TOPIC} holds a record apply cannot read ({error}); was it written by hand?"
        raise ContractsError(message) from None


def read_state(settings: Mapping[str, str], timeout: float = REQUEST_TIMEOUT_SECONDS) -> dict[str, frozenset[AclSpec]]:
    """The latest record of every contract (replays the compacted topic to its end)."""
    consumer = Consumer(
        {
            **client_settings(settings),
            # Required by librdkafka, never joined or committed: the partitions are assigned by hand.
            "group.id": "contracts-apply",
            "enable.auto.commit": "false",
            "enable.partition.eof": "true",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        return _replay(consumer, timeout)
    except KafkaException as error:
        raise ContractsError(f"cannot read {STATE_TOPIC}: {describe_failure(error)}") from None
    finally:
        consumer.close()


def _replay(consumer: Consumer, timeout: float) -> dict[str, frozenset[AclSpec]]:
    metadata = consumer.list_topics(STATE_TOPIC, timeout=timeout)
    topic = metadata.topics.get(STATE_TOPIC)
    if topic is None or topic.error is not None:
        return {}
    pending: dict[int, int] = {}
    assignment = []
    for partition in topic.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(STATE_TOPIC, partition), timeout=timeout)
        if high > low:
            pending[partition] = high
            assignment.append(TopicPartition(STATE_TOPIC, partition, low))
    records: dict[str, frozenset[AclSpec]] = {}
    if not assignment:
        return records
    consumer.assign(assignment)
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise ContractsError(f"cannot read {STATE_TOPIC} to its end within {timeout:g}s")
        message = consumer.poll(0.5)
        if message is None:
            continue
        error = message.error()
        partition = message.partition() or 0
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                pending.pop(partition, None)
                continue
            raise KafkaException(error)
        key = message.key()
        if key is not None:
            records[key.decode()] = decode(message.value())
        if (message.offset() or 0) + 1 >= pending.get(partition, 0):
            pending.pop(partition, None)
    return {contract: acls for contract, acls in records.items() if acls}


def write_state(
    settings: Mapping[str, str], records: Mapping[str, frozenset[AclSpec]], timeout: float = REQUEST_TIMEOUT_SECONDS
) -> None:
    """Write one record per contract and wait until Kafka has them all."""
    if not records:
        return
    failures: list[str] = []

    def delivered(error: KafkaError | None, _message: object) -> None:
        if error is not None:
            failures.append(f"{error.name()}: {error.str()}")

    producer = Producer({**client_settings(settings), "acks": "all", "enable.idempotence": "true"})
    for contract, acls in sorted(records.items()):
        producer.produce(STATE_TOPIC, key=contract.encode(), value=encode(acls), on_delivery=delivered)
    remaining = producer.flush(timeout)
    if remaining or failures:
        reason = failures[0] if failures else f"{remaining} record(s) not acknowledged within {timeout:g}s"
        raise ContractsError(f"cannot write apply's ACL record to {STATE_TOPIC}: {reason}")
