"""What is on the cluster now: brokers, topics with their managed configs, the authorizer, ACLs.

Read-only: nothing here changes the cluster. The result is plain data that the planner compares
with the registry's desired state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

from confluent_kafka import KafkaError, KafkaException

# confluent-kafka 2.16 re-exports these from private modules without __all__.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
)

from contracts_cli.apply.desired import GROUP, MANAGED_CONFIGS, TOPIC, AclSpec
from contracts_cli.apply.state import STATE_TOPIC, read_state
from contracts_cli.errors import ContractsError
from contracts_cli.kafka import REQUEST_TIMEOUT_SECONDS, describe_failure, failure

RESOURCE_TYPES = {TOPIC: ResourceType.TOPIC, GROUP: ResourceType.GROUP}
_RESOURCE_NAMES = {value: key for key, value in RESOURCE_TYPES.items()}

# A filter that matches no ACL: the principal and topic names cannot exist (Kafka reserves `__`).
_PROBE = AclBindingFilter(
    ResourceType.TOPIC,
    "__contracts_apply_probe",
    ResourcePatternType.LITERAL,
    "User:__contracts_apply_probe",
    "*",
    AclOperation.ANY,
    AclPermissionType.ANY,
)


@dataclass(frozen=True)
class ObservedTopic:
    name: str
    partitions: int
    replication_factor: int
    configs: Mapping[str, str] = field(default_factory=dict)  # only MANAGED_CONFIGS, for declared topics


@dataclass(frozen=True)
class ClusterState:
    bootstrap_servers: str
    brokers: int
    topics: Mapping[str, ObservedTopic]
    authorizer: bool
    acls: frozenset[AclSpec] = frozenset()  # ALLOW + LITERAL + host `*` ACLs only: the kind apply writes
    recorded: Mapping[str, frozenset[AclSpec]] = field(default_factory=dict)  # apply's record, by contract

    @property
    def state_topic_exists(self) -> bool:
        return STATE_TOPIC in self.topics


def read_cluster(
    admin: AdminClient, settings: Mapping[str, str], declared: Iterable[str], timeout: float = REQUEST_TIMEOUT_SECONDS
) -> ClusterState:
    """Observe the cluster; `declared` names the topics whose configs are read."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as error:
        raise ContractsError(f"cannot list the cluster's topics: {describe_failure(error)}") from None
    topics = {
        name: ObservedTopic(
            name=name,
            partitions=len(topic.partitions),
            replication_factor=max((len(p.replicas) for p in topic.partitions.values()), default=0),
        )
        for name, topic in metadata.topics.items()
        if topic.error is None
    }
    wanted = sorted(name for name in set(declared) if name in topics)
    for name, configs in _topic_configs(admin, wanted, timeout).items():
        topics[name] = ObservedTopic(name, topics[name].partitions, topics[name].replication_factor, configs)
    authorizer = _has_authorizer(admin, timeout)
    acls = _allow_literal_acls(admin, timeout) if authorizer else frozenset()
    recorded = read_state(settings, timeout) if authorizer and STATE_TOPIC in topics else {}
    return ClusterState(
        bootstrap_servers=settings.get("bootstrap.servers", ""),
        brokers=len(metadata.brokers),
        topics=topics,
        authorizer=authorizer,
        acls=acls,
        recorded=recorded,
    )


def _topic_configs(admin: AdminClient, names: list[str], timeout: float) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    futures = admin.describe_configs(resources, request_timeout=timeout)
    configs: dict[str, dict[str, str]] = {}
    for resource, future in futures.items():
        try:
            entries = future.result()
        except KafkaException as error:
            reason = describe_failure(error)
            raise ContractsError(f"cannot read the configs of topic {resource.name}: {reason}") from None
        configs[resource.name] = {
            key: entries[key].value for key in MANAGED_CONFIGS if key in entries and entries[key].value is not None
        }
    return configs


def _has_authorizer(admin: AdminClient, timeout: float) -> bool:
    """Whether the cluster enforces ACLs, and apply's principal may manage them.

    librdkafka 2.16 drops DescribeAcls' top-level error (describe_acls answers [] on a cluster
    without an authorizer, and to a principal that may not describe ACLs), so ask with
    DeleteAcls and a filter that matches nothing: it reports both errors and changes nothing.
    """
    (future,) = admin.delete_acls([_PROBE], request_timeout=timeout).values()
    try:
        future.result()
    except KafkaException as error:
        code = failure(error)
        if code is not None and code.code() == KafkaError.SECURITY_DISABLED:
            return False
        if code is not None and code.code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
            raise ContractsError(
                "the cluster has an authorizer but this principal may not manage ACLs "
                "(CLUSTER_AUTHORIZATION_FAILED): run apply as a super user, or grant it ALTER and DESCRIBE "
                "on the cluster"
            ) from None
        raise ContractsError(f"cannot check the cluster's authorizer: {describe_failure(error)}") from None
    return True


def _allow_literal_acls(admin: AdminClient, timeout: float) -> frozenset[AclSpec]:
    # None matches any name, principal and host (the stub says str; librdkafka takes NULL).
    anything = cast(str, None)
    every = AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.LITERAL,
        anything,
        anything,
        AclOperation.ANY,
        AclPermissionType.ALLOW,
    )
    try:
        bindings: list[AclBinding] = admin.describe_acls(every, request_timeout=timeout).result()
    except KafkaException as error:
        raise ContractsError(f"cannot read the cluster's ACLs: {describe_failure(error)}") from None
    return frozenset(spec for spec in map(acl_spec, bindings) if spec is not None)


def acl_spec(binding: AclBinding) -> AclSpec | None:
    """The AclSpec of an ACL apply could have written, None for any other kind."""
    restype, operation = binding.restype, binding.operation  # enums once the binding has converted them
    resource = _RESOURCE_NAMES.get(restype) if isinstance(restype, ResourceType) else None
    if (
        resource is None
        or not isinstance(operation, AclOperation)
        or binding.resource_pattern_type != ResourcePatternType.LITERAL
        or binding.permission_type != AclPermissionType.ALLOW
        or binding.host != "*"
    ):
        return None
    return AclSpec(resource, binding.name, binding.principal, operation.name)


def acl_binding(spec: AclSpec) -> AclBinding:
    return AclBinding(
        RESOURCE_TYPES[spec.resource_type],
        spec.resource_name,
        ResourcePatternType.LITERAL,
        spec.principal,
        "*",
        AclOperation[spec.operation],
        AclPermissionType.ALLOW,
    )


def acl_filter(spec: AclSpec) -> AclBindingFilter:
    """A filter matching exactly this one ACL, for revoking it."""
    return AclBindingFilter(
        RESOURCE_TYPES[spec.resource_type],
        spec.resource_name,
        ResourcePatternType.LITERAL,
        spec.principal,
        "*",
        AclOperation[spec.operation],
        AclPermissionType.ALLOW,
    )
