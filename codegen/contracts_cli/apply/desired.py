"""What the registry asks of a cluster: topic specs and ACLs, derived from the model alone.

Every policy of `contracts apply` that does not depend on the cluster lives here, each in one
small function: the min.insync.replicas rule, the dead-letter topic's settings, the principal
and consumer-group conventions, the ACLs a producer and a consumer need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contracts_cli.model import Registry, TopicBinding, consumer_group, normalize_principal

# The topic configs apply manages; any other config of a topic is left as the cluster has it.
RETENTION_MS = "retention.ms"
CLEANUP_POLICY = "cleanup.policy"
MIN_INSYNC_REPLICAS = "min.insync.replicas"
MANAGED_CONFIGS = (RETENTION_MS, CLEANUP_POLICY, MIN_INSYNC_REPLICAS)

# A dead-letter topic keeps its records at least this long: someone has to look at them.
DLQ_MIN_RETENTION_MS = 14 * 86_400_000

TOPIC = "topic"
GROUP = "group"
READ = "READ"
WRITE = "WRITE"
DESCRIBE = "DESCRIBE"


@dataclass(frozen=True)
class TopicSpec:
    """One topic as the registry wants it. None leaves a setting to the cluster's default."""

    name: str
    partitions: int | None
    replication_factor: int | None
    configs: Mapping[str, str]
    contract: str  # the bound topic this spec comes from: itself, or the topic of a dead-letter topic
    location: str  # path:line of the binding, for messages
    declared_replication_factor: int | None = None  # before --max-replication-factor, when it capped it

    @property
    def is_dlq(self) -> bool:
        return self.name != self.contract


@dataclass(frozen=True, order=True)
class AclSpec:
    """One ALLOW ACL on a LITERAL resource for any host: the only kind apply writes."""

    resource_type: str  # "topic" | "group"
    resource_name: str
    principal: str
    operation: str  # READ | WRITE | DESCRIBE

    def __str__(self) -> str:
        return f"{self.principal} {self.operation} on {self.resource_type} {self.resource_name}"


@dataclass(frozen=True)
class DesiredState:
    topics: tuple[TopicSpec, ...]
    # ACLs by the bound topic whose contract grants them; a group ACL may appear under several.
    acls_by_contract: Mapping[str, frozenset[AclSpec]] = field(default_factory=dict)

    @property
    def acls(self) -> frozenset[AclSpec]:
        return frozenset().union(*self.acls_by_contract.values())

    @property
    def topic_names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.topics)


def min_insync_replicas(replication_factor: int) -> int:
    """Two copies of every acknowledged write where rf >= 3, and writes survive one broker down.

    rf 1 -> 1, rf 2 -> 1 (2 would stop acks=all producers whenever either broker is down),
    rf 3 and more -> 2.
    """
    return max(1, min(2, replication_factor - 1))


def dlq_retention_ms(topic_retention_ms: int | None) -> int:
    """The longer of the topic's retention and 14 days; an infinite retention stays infinite.

    Dead letters wait for a person to inspect and replay them, which takes longer than a
    consumer takes to catch up; and they must not expire before the records they came from.
    """
    if topic_retention_ms == -1:
        return -1
    return max(topic_retention_ms or 0, DLQ_MIN_RETENTION_MS)


def producer_acls(topic: TopicBinding, principal: str) -> set[AclSpec]:
    # WRITE on a topic is all an idempotent producer needs since Kafka 3.0 (KIP-679): the broker
    # allows InitProducerId to any principal that may write some topic, so no IDEMPOTENT_WRITE.
    who = normalize_principal(principal)
    return {AclSpec(TOPIC, topic.name, who, WRITE), AclSpec(TOPIC, topic.name, who, DESCRIBE)}


def consumer_acls(topic: TopicBinding, principal: str) -> set[AclSpec]:
    who = normalize_principal(principal)
    return {
        AclSpec(TOPIC, topic.name, who, READ),
        AclSpec(TOPIC, topic.name, who, DESCRIBE),
        AclSpec(GROUP, consumer_group(principal), who, READ),
        # The SDK's consumer dead-letters records it cannot process (WRITE implies DESCRIBE).
        AclSpec(TOPIC, topic.dlq_name, who, WRITE),
    }


def contract_acls(topic: TopicBinding) -> frozenset[AclSpec]:
    acls: set[AclSpec] = set()
    for principal in topic.producers:
        acls |= producer_acls(topic, principal)
    for principal in topic.consumers:
        acls |= consumer_acls(topic, principal)
    return frozenset(acls)


def topic_specs(topic: TopicBinding, max_replication_factor: int | None) -> tuple[TopicSpec, TopicSpec]:
    """The bound topic and its dead-letter topic (same partitions and replication factor)."""
    declared = topic.replication_factor
    replication_factor = declared
    if declared is not None and max_replication_factor is not None:
        replication_factor = min(declared, max_replication_factor)
    capped_from = declared if replication_factor != declared else None
    location = f"{topic.location.path}:{topic.location.line}"

    configs = {CLEANUP_POLICY: topic.cleanup_policy or "delete"}
    dlq_configs = {CLEANUP_POLICY: "delete", RETENTION_MS: str(dlq_retention_ms(topic.retention_ms))}
    if topic.retention_ms is not None:
        configs[RETENTION_MS] = str(topic.retention_ms)
    if replication_factor is not None:
        configs[MIN_INSYNC_REPLICAS] = dlq_configs[MIN_INSYNC_REPLICAS] = str(min_insync_replicas(replication_factor))

    def spec(name: str, settings: dict[str, str]) -> TopicSpec:
        return TopicSpec(
            name=name,
            partitions=topic.partitions,
            replication_factor=replication_factor,
            configs=dict(sorted(settings.items())),
            contract=topic.name,
            location=location,
            declared_replication_factor=capped_from,
        )

    return spec(topic.name, configs), spec(topic.dlq_name, dlq_configs)


def desired_state(registry: Registry, max_replication_factor: int | None = None) -> DesiredState:
    return desired_from_bindings(registry.topics, max_replication_factor)


def desired_from_bindings(bindings: Iterable[TopicBinding], max_replication_factor: int | None) -> DesiredState:
    topics: list[TopicSpec] = []
    acls: dict[str, frozenset[AclSpec]] = {}
    for binding in bindings:
        topics.extend(topic_specs(binding, max_replication_factor))
        acls[binding.name] = contract_acls(binding)
    return DesiredState(topics=tuple(topics), acls_by_contract=acls)
