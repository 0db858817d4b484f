"""What the cluster holds for the registry's topics: partitions, end offsets, consumer groups and lag.

One snapshot per `contracts docs --bootstrap-servers` run, read with confluent_kafka's AdminClient
within a bounded time. Connection settings come from the flag and the KAFKA_* environment, read by
the runtime's `client_config` when contracts-runtime is installed (the same variables it reads).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from codegen.errors import ContractsError

CONNECT_TIMEOUT_SECONDS = 6.0
REQUEST_TIMEOUT_SECONDS = 10.0
_ENVIRONMENT = {
    "security.protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl.mechanism": "KAFKA_SASL_MECHANISM",
    "sasl.username": "KAFKA_SASL_USERNAME",
    "sasl.password": "KAFKA_SASL_PASSWORD",
    "ssl.ca.location": "KAFKA_SSL_CA_LOCATION",
    "ssl.certificate.location": "KAFKA_SSL_CERTIFICATE_LOCATION",
    "ssl.key.location": "KAFKA_SSL_KEY_LOCATION",
}
# librdkafka logs connection failures to stderr; the error we raise says it in one line instead.
_QUIET = logging.getLogger("codegen.docs.kafka")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


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


def connection_settings(bootstrap_servers: str) -> dict[str, str]:
    """librdkafka settings from the flag and the KAFKA_* environment."""
    try:
        from contracts_runtime.config import client_config
        from contracts_runtime.errors import KafkaConfigError
    except ImportError:  # the CLI works without the runtime library installed
        settings = {"bootstrap.servers": bootstrap_servers}
        settings.update({prop: os.environ[var] for prop, var in _ENVIRONMENT.items() if os.environ.get(var)})
        return settings
    try:
        return client_config(bootstrap_servers=bootstrap_servers)
    except KafkaConfigError as error:
        raise ContractsError(str(error)) from None


def read_cluster(topic_names: Iterable[str], bootstrap_servers: str) -> ClusterSnapshot:
    """Read the cluster's state of `topic_names`; raises ContractsError within a bounded time."""
    settings = connection_settings(bootstrap_servers)
    watch = _ErrorWatch()
    config: dict[str, Any] = {**settings, "error_cb": watch, "logger": _QUIET}
    admin = AdminClient(config)
    metadata = _metadata(admin, settings, watch)
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


class _ErrorWatch:
    """librdkafka's error callback: keeps the last error, and the one that makes waiting pointless."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: KafkaError | None = None
        self.fatal: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        with self._lock:
            self.last = error
            if error.code() == KafkaError._AUTHENTICATION or error.fatal():
                self.fatal = error


def _metadata(admin: AdminClient, settings: Mapping[str, str], watch: _ErrorWatch) -> Any:
    """Cluster metadata within CONNECT_TIMEOUT_SECONDS; wrong credentials fail as soon as they are known."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    failure: object = None
    while time.monotonic() < deadline and watch.fatal is None:
        try:
            return admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as error:
            failure = error.args[0] if error.args else error
        admin.poll(0)  # serves the error callback, which is where wrong credentials show
    cause = watch.fatal or watch.last or failure
    where = f"{settings.get('bootstrap.servers')} (security.protocol={settings.get('security.protocol', 'PLAINTEXT')})"
    if watch.fatal is not None:
        raise ContractsError(f"Kafka at {where} refused the connection: {_explain(watch.fatal)}")
    reason = _explain(cause) if isinstance(cause, KafkaError) else _one_line(str(cause or "no answer"))
    raise ContractsError(f"cannot reach Kafka at {where} within {CONNECT_TIMEOUT_SECONDS:g}s: {reason}")


def _explain(error: KafkaError) -> str:
    text = _one_line(f"{error.name()}: {error.str()}")
    if error.code() == KafkaError._AUTHENTICATION:
        return f"authentication failed ({text}); check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
    if error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE):
        return f"no broker answered ({text}); check --bootstrap-servers and the network"
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _result(future: Future[Any], what: str) -> Any:
    try:
        return future.result(timeout=REQUEST_TIMEOUT_SECONDS + 1)
    except KafkaException as error:
        cause = error.args[0] if error.args else error
        reason = _explain(cause) if isinstance(cause, KafkaError) else _one_line(str(cause))
        raise ContractsError(f"cannot read {what} from Kafka: {reason}") from None
    except TimeoutError:
        raise ContractsError(f"cannot read {what} from Kafka within {REQUEST_TIMEOUT_SECONDS:g}s") from None


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
