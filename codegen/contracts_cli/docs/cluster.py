"""What the cluster holds for the registry's topics: partitions, end offsets, consumer groups and lag.

One snapshot per `contracts docs --bootstrap-servers` run, read with confluent_kafka's AdminClient
within a bounded time, connected as `contracts apply` connects (contracts_cli/kafka.py: the
KAFKA_* variables, TLS included; a refusal fails at once, a silent address at the bound).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from contracts_cli.errors import ContractsError
from contracts_cli.kafka import REQUEST_TIMEOUT_SECONDS, ConnectionFlags, connect, describe_failure, kafka_settings


@dataclass(frozen=True)
class PartitionState:
    partition: int
    leader: int
    replicas: int
    end_offset: int | None


@dataclass(frozen=True)
class GroupPartition:
    partition: int
    committed: int | None  # None: the group has no committed offset for this partition
    lag: int | None


@dataclass(frozen=True)
class GroupState:
    group: str
    state: str
    members: int
    partitions: tuple[GroupPartition, ...]

    @property
    def total_lag(self) -> int | None:
        lags = [p.lag for p in self.partitions if p.lag is not None]
        return sum(lags) if lags else None


@dataclass(frozen=True)
class TopicState:
    exists: bool
    partitions: tuple[PartitionState, ...]
    groups: tuple[GroupState, ...]

    @property
    def total_end_offset(self) -> int:
        return sum(p.end_offset or 0 for p in self.partitions)


@dataclass(frozen=True)
class ClusterSnapshot:
    bootstrap_servers: str
    taken_at: str  # ISO 8601, UTC, seconds
    brokers: int
    topics: Mapping[str, TopicState]
    warnings: tuple[str, ...]


def read_cluster(topic_names: Iterable[str], bootstrap_servers: str) -> ClusterSnapshot:
    """Read the cluster's state of `topic_names`; raises ContractsError within a bounded time."""
    settings = kafka_settings(ConnectionFlags(bootstrap_servers=bootstrap_servers))
    admin = connect(settings)
    metadata = _result_of(lambda: admin.list_topics(timeout=REQUEST_TIMEOUT_SECONDS), "the topics")
    taken_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    names = sorted(set(topic_names))
    present = {name: metadata.topics[name] for name in names if name in metadata.topics}
    partitions = {
        name: sorted(topic.partitions.values(), key=lambda p: p.id)
        for name, topic in present.items()
        if not topic.error
    }
    end_offsets = _end_offsets(admin, partitions)
    groups, warnings = _groups(admin, set(partitions))
    topics = {}
    for name in names:
        if name not in partitions:
            topics[name] = TopicState(exists=False, partitions=(), groups=())
            continue
        states = tuple(
            PartitionState(p.id, p.leader, len(p.replicas), end_offsets.get((name, p.id))) for p in partitions[name]
        )
        topics[name] = TopicState(exists=True, partitions=states, groups=_groups_of(name, states, groups))
    return ClusterSnapshot(
        bootstrap_servers=settings["bootstrap.servers"],
        taken_at=taken_at,
        brokers=len(metadata.brokers),
        topics=topics,
        warnings=tuple(warnings),
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _result(future: Future[Any], what: str) -> Any:
    try:
        return future.result(timeout=REQUEST_TIMEOUT_SECONDS + 1)
    except KafkaException as error:
        raise ContractsError(f"cannot read {what} from Kafka: {_one_line(describe_failure(error))}") from None
    except TimeoutError:
        raise ContractsError(f"cannot read {what} from Kafka within {REQUEST_TIMEOUT_SECONDS:g}s") from None


def _result_of(call: Callable[[], Any], what: str) -> Any:
    try:
        return call()
    except KafkaException as error:
        raise ContractsError(f"cannot read {what} from Kafka: {_one_line(describe_failure(error))}") from None


def _end_offsets(admin: AdminClient, partitions: Mapping[str, list[Any]]) -> dict[tuple[str, int], int]:
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    request = {TopicPartition(name, p.id): latest for name, parts in partitions.items() for p in parts}
    if not request:
        return {}
    futures = admin.list_offsets(request, request_timeout=REQUEST_TIMEOUT_SECONDS)
    return {
        (tp.topic, tp.partition): _result(future, f"the end offsets of {tp.topic}").offset
        for tp, future in futures.items()
    }


@dataclass(frozen=True)
class _Group:
    group: str
    state: str
    members: int
    committed: Mapping[tuple[str, int], int]
    assigned: frozenset[tuple[str, int]]


def _groups(admin: AdminClient, topics: set[str]) -> tuple[list[_Group], list[str]]:
    """Every consumer group with a committed offset on, or a member assigned to, one of `topics`."""
    if not topics:
        return [], []
    listing = _result(admin.list_consumer_groups(request_timeout=REQUEST_TIMEOUT_SECONDS), "the consumer groups")
    warnings = [_one_line(f"listing consumer groups: {error}") for error in listing.errors]
    group_ids = sorted(g.group_id for g in listing.valid)
    if not group_ids:
        return [], warnings
    descriptions = admin.describe_consumer_groups(group_ids, request_timeout=REQUEST_TIMEOUT_SECONDS)
    offsets = {
        group: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=REQUEST_TIMEOUT_SECONDS
        )[group]
        for group in group_ids
    }
    groups = []
    for group in group_ids:
        try:
            description = descriptions[group].result(timeout=REQUEST_TIMEOUT_SECONDS + 1)
            committed = offsets[group].result(timeout=REQUEST_TIMEOUT_SECONDS + 1)
        except (KafkaException, TimeoutError) as error:  # e.g. not authorized to describe this group
            warnings.append(_one_line(f"consumer group {group}: {error}"))
            continue
        positions = {
            (tp.topic, tp.partition): tp.offset
            for tp in committed.topic_partitions
            if tp.topic in topics and tp.offset >= 0 and tp.error is None
        }
        assigned = frozenset(
            (tp.topic, tp.partition)
            for member in description.members
            for tp in (member.assignment.topic_partitions if member.assignment else [])
            if tp.topic in topics
        )
        if positions or assigned:
            state = getattr(description.state, "name", str(description.state))
            groups.append(_Group(group, state.lower(), len(description.members), positions, assigned))
    return groups, sorted(warnings)


def _groups_of(topic: str, partitions: tuple[PartitionState, ...], groups: list[_Group]) -> tuple[GroupState, ...]:
    states = []
    for group in groups:
        if not any(t == topic for t, _ in (*group.committed, *group.assigned)):
            continue
        rows = []
        for partition in partitions:
            committed = group.committed.get((topic, partition.partition))
            lag = None
            if committed is not None and partition.end_offset is not None:
                lag = max(0, partition.end_offset - committed)
            rows.append(GroupPartition(partition.partition, committed, lag))
        states.append(GroupState(group.group, group.state, group.members, tuple(rows)))
    return tuple(states)
