"""Desired state + observed cluster -> Plan. Pure: no Kafka, no printing, so every decision is unit-tested."""

from __future__ import annotations

from collections.abc import Iterable

from contracts_cli.apply.cluster import ClusterState, ObservedTopic
from contracts_cli.apply.desired import CLEANUP_POLICY, RETENTION_MS, AclSpec, DesiredState, TopicSpec
from contracts_cli.apply.plan import (
    AddPartitions,
    AlterConfig,
    CreateTopic,
    GrantAcl,
    Impossible,
    Orphan,
    Plan,
    RevokeAcl,
)
from contracts_cli.apply.state import STATE_TOPIC, STATE_TOPIC_PURPOSE, state_topic_spec

INTERNAL_PREFIX = "__"


def make_plan(desired: DesiredState, cluster: ClusterState) -> Plan:
    creates: list[CreateTopic] = []
    partition_changes: list[AddPartitions] = []
    config_changes: list[AlterConfig] = []
    impossible: list[Impossible] = []
    for spec in desired.topics:
        observed = cluster.topics.get(spec.name)
        blocked = _impossible_changes(spec, observed, cluster.brokers)
        impossible.extend(blocked)
        if observed is None:
            if not blocked:
                creates.append(CreateTopic(spec))
            continue
        if spec.partitions is not None and spec.partitions > observed.partitions:
            partition_changes.append(AddPartitions(spec.name, observed.partitions, spec.partitions))
        config_changes.extend(_config_changes(spec, observed))

    grants, revokes, state_updates, notes = _acl_changes(desired, cluster)
    if state_updates and not cluster.state_topic_exists:
        creates.append(CreateTopic(state_topic_spec(), purpose=STATE_TOPIC_PURPOSE))
    return Plan(
        bootstrap_servers=cluster.bootstrap_servers,
        brokers=cluster.brokers,
        authorizer=cluster.authorizer,
        creates=tuple(creates),
        partition_changes=tuple(partition_changes),
        config_changes=tuple(config_changes),
        impossible=tuple(impossible),
        grants=tuple(GrantAcl(acl) for acl in grants),
        revokes=tuple(RevokeAcl(acl) for acl in revokes),
        orphans=tuple(_orphans(desired, cluster)),
        notes=(*_capping_notes(desired.topics), *notes),
        state_updates=state_updates,
        state_topic_exists=cluster.state_topic_exists,
    )


def _impossible_changes(spec: TopicSpec, observed: ObservedTopic | None, brokers: int) -> list[Impossible]:
    found: list[Impossible] = []
    current_rf = observed.replication_factor if observed else None
    wanted_rf = spec.replication_factor
    if wanted_rf is not None and wanted_rf > brokers:
        found.append(
            Impossible(
                spec.name,
                "replication_factor",
                current_rf,
                wanted_rf,
                f"more replicas than the cluster's {brokers} broker(s) "
                f"(on a development cluster, pass --max-replication-factor {brokers})",
            )
        )
    elif observed is not None and wanted_rf is not None and wanted_rf != observed.replication_factor:
        found.append(
            Impossible(
                spec.name,
                "replication_factor",
                current_rf,
                wanted_rf,
                "Kafka does not change a topic's replication factor in place; it takes a partition "
                "reassignment (kafka-reassign-partitions), which apply does not do",
            )
        )
    if observed is not None and spec.partitions is not None and spec.partitions < observed.partitions:
        found.append(
            Impossible(
                spec.name,
                "partitions",
                observed.partitions,
                spec.partitions,
                "Kafka cannot remove partitions from a topic; to shrink it, bind the message to a new topic version",
            )
        )
    return found


def _config_changes(spec: TopicSpec, observed: ObservedTopic) -> list[AlterConfig]:
    return [
        AlterConfig(spec.name, name, observed.configs.get(name), wanted)
        for name, wanted in spec.configs.items()
        if not same_config(name, observed.configs.get(name), wanted)
    ]


def same_config(name: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if name == CLEANUP_POLICY:  # "compact,delete" and "delete,compact" are one policy
        return sorted(current.replace(" ", "").split(",")) == sorted(wanted.split(","))
    if name == RETENTION_MS:
        return current.strip() == wanted or (_as_int(current) is not None and _as_int(current) == _as_int(wanted))
    return current.strip() == wanted


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _acl_changes(
    desired: DesiredState, cluster: ClusterState
) -> tuple[list[AclSpec], list[AclSpec], dict[str, frozenset[AclSpec]], list[str]]:
    """Grants, revocations, apply's record to write, and notes.

    Revoked: ACLs that a declared topic's record holds, no contract grants now, and no record of
    an undeclared topic holds either (a topic dropped from the registry keeps its access).
    """
    wanted = desired.acls
    if not cluster.authorizer:
        note = "ACLs skipped: the cluster has no authorizer, so Kafka enforces no ACLs"
        return [], [], {}, [f"{note} ({len(wanted)} grant(s) in the contracts not applied)" if wanted else note]
    declared = desired.acls_by_contract
    owned = _union(acls for contract, acls in cluster.recorded.items() if contract in declared)
    kept_elsewhere = _union(acls for contract, acls in cluster.recorded.items() if contract not in declared)
    grants = sorted(wanted - cluster.acls)
    revokes = sorted((owned - wanted - kept_elsewhere) & cluster.acls)
    state_updates = {
        contract: acls
        for contract, acls in sorted(declared.items())
        if cluster.recorded.get(contract, frozenset()) != acls
    }
    notes = []
    adopted = (wanted & cluster.acls) - owned
    if adopted:
        notes.append(
            f"{len(adopted)} ACL(s) already on the cluster match the contracts: apply records them as granted "
            "by the contracts and revokes them when a contract drops them"
        )
    return grants, revokes, state_updates, notes


def _union(sets: Iterable[frozenset[AclSpec]]) -> frozenset[AclSpec]:
    return frozenset().union(*sets)


def _orphans(desired: DesiredState, cluster: ClusterState) -> list[Orphan]:
    declared = desired.topic_names
    return [
        Orphan(name, observed.partitions)
        for name, observed in sorted(cluster.topics.items())
        if name not in declared and not name.startswith(INTERNAL_PREFIX) and name != STATE_TOPIC
    ]


def _capping_notes(specs: Iterable[TopicSpec]) -> list[str]:
    capped = [spec for spec in specs if spec.declared_replication_factor is not None and not spec.is_dlq]
    if not capped:
        return []
    return [
        f"--max-replication-factor caps the replication factor of {len(capped)} topic(s) and their dead-letter "
        f"topics to {capped[0].replication_factor} (min.insync.replicas follows the capped value)"
    ]
