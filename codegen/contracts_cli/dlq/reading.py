"""Reading a dead-letter topic: every record from given offsets up to the end it had when we started.

The end is fixed at the start (each partition's high watermark), so a consumer that keeps
dead-lettering meanwhile cannot keep a command running; records written later wait for the next run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition
from contracts_runtime import envelope
from contracts_runtime.validation import Violation, parse_violations_header

from contracts_cli.errors import ContractsError
from contracts_cli.kafka import REQUEST_TIMEOUT_SECONDS, client_settings, describe_failure

# A read that gets no record for this long while records remain before the end has stalled.
_STALL_SECONDS = REQUEST_TIMEOUT_SECONDS
_BATCH = 500

Headers = list[tuple[str, bytes | None]]


@dataclass(frozen=True)
class DeadLetter:
    """One record of a `.dlq` topic and what its `contracts_dlq_*` headers say."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    def header(self, name: str) -> str | None:
        return envelope.header_text(self.headers, name)

    @property
    def reason(self) -> str:
        return self.header(envelope.DLQ_REASON) or "unknown"

    @property
    def violations(self) -> list[Violation]:
        return parse_violations_header(envelope.header(self.headers, envelope.DLQ_VIOLATIONS))

    @property
    def rule_ids(self) -> list[str]:
        """The distinct rule ids of its violations, in their order; [] for other reasons."""
        return list(dict.fromkeys(violation.rule_id for violation in self.violations))

    @property
    def ce_type(self) -> bytes | None:
        return envelope.header(self.headers, envelope.CE_TYPE)

    def matches(self, reason: str | None, rule: str | None) -> bool:
        """Whether `--reason` and `--rule` select this dead letter (None selects all)."""
        if reason is not None and self.reason != reason:
            return False
        return rule is None or rule in self.rule_ids


def open_reader(settings: Mapping[str, str], group_id: str) -> Consumer:
    """A consumer that commits only when told to (replay) and reads only what was committed by producers."""
    return Consumer(
        {
            **client_settings(settings),
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )


def partitions_of(consumer: Consumer, topic: str) -> list[int]:
    """The topic's partitions; ContractsError when it does not exist."""
    try:
        metadata = consumer.list_topics(topic, timeout=REQUEST_TIMEOUT_SECONDS)
    except KafkaException as error:
        raise ContractsError(f"cannot read the metadata of {topic}: {describe_failure(error)}") from None
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        why = "" if found is None or found.error is None else f" ({found.error.str()})"
        raise ContractsError(f"topic {topic} does not exist on the cluster{why}: run contracts apply")
    return sorted(found.partitions)


def end_offsets(consumer: Consumer, topic: str, partitions: list[int]) -> dict[int, int]:
    ends = {}
    for partition in partitions:
        try:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=REQUEST_TIMEOUT_SECONDS, cached=False
            )
        except KafkaException as error:
            raise ContractsError(f"cannot read the end offsets of {topic}: {describe_failure(error)}") from None
        ends[partition] = high
    return ends


def read_dead_letters(
    consumer: Consumer, topic: str, starts: Mapping[int, int | None], ends: Mapping[int, int]
) -> Iterator[DeadLetter]:
    """Every record of `topic` from `starts` (None: the beginning) up to `ends`, partition by partition."""
    pending = {p for p, end in ends.items() if end > 0 and (starts.get(p) is None or (starts[p] or 0) < end)}
    if not pending:
        return
    consumer.assign(
        [
            TopicPartition(topic, p, OFFSET_BEGINNING if starts.get(p) is None else cast(int, starts[p]))
            for p in sorted(pending)
        ]
    )
    last_progress = time.monotonic()
    while pending:
        messages = consumer.consume(_BATCH, 0.5)
        if not messages and time.monotonic() - last_progress > _STALL_SECONDS:
            raise ContractsError(f"reading {topic} stalled: no record for {_STALL_SECONDS:g}s before its end")
        for message in messages:
            partition = message.partition() or 0
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    pending.discard(partition)
                    continue
                raise ContractsError(f"cannot read {topic}: {error.name()}: {error.str()}")
            last_progress = time.monotonic()
            offset = message.offset() or 0
            if partition not in pending or offset >= ends[partition]:
                continue
            yield _dead_letter(message)
            if offset + 1 >= ends[partition]:
                pending.discard(partition)


def _dead_letter(message: Message) -> DeadLetter:
    headers = cast(Headers, message.headers() or [])
    return DeadLetter(message.partition() or 0, message.offset() or 0, message.key(), message.value(), headers)


def committed(consumer: Consumer, topic: str, partitions: list[int]) -> dict[int, tuple[int | None, str]]:
    """The group's committed offset (None: nothing committed) and its metadata, per partition."""
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=REQUEST_TIMEOUT_SECONDS)
    except KafkaException as error:
        raise ContractsError(f"cannot read the committed offsets of {topic}: {describe_failure(error)}") from None
    result: dict[int, tuple[int | None, str]] = {}
    for item in found:
        metadata: Any = getattr(item, "metadata", None)
        result[item.partition] = (item.offset if item.offset >= 0 else None, metadata or "")
    return result
