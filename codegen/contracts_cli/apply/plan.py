"""The plan: what apply will do to a cluster, as plain data that the executor runs and renderers print.

Each action has a `kind`, the `topic` (or group) it is about and `details()`, the shape
`--format json` prints. Orphans and notes are information only: they never make a plan non-empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from contracts_cli.apply.desired import AclSpec, TopicSpec

Details = dict[str, object]


class Action(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def topic(self) -> str: ...

    def details(self) -> Details: ...


@dataclass(frozen=True)
class CreateTopic:
    spec: TopicSpec
    purpose: str = ""  # why a topic no contract binds is created (apply's own state topic)
    kind = "create_topic"

    @property
    def topic(self) -> str:
        return self.spec.name

    def details(self) -> Details:
        details: Details = {
            "partitions": self.spec.partitions,
            "replication_factor": self.spec.replication_factor,
            "configs": dict(self.spec.configs),
            "contract": self.spec.contract,
            "dead_letter_topic": self.spec.is_dlq,
        }
        if self.spec.declared_replication_factor is not None:
            details["declared_replication_factor"] = self.spec.declared_replication_factor
        if self.purpose:
            details["purpose"] = self.purpose
        return details


@dataclass(frozen=True)
class AddPartitions:
    topic: str
    current: int
    wanted: int
    kind = "add_partitions"

    def details(self) -> Details:
        return {"setting": "partitions", "current": self.current, "wanted": self.wanted}


@dataclass(frozen=True)
class AlterConfig:
    topic: str
    name: str
    current: str | None
    wanted: str
    kind = "alter_config"

    def details(self) -> Details:
        return {"setting": self.name, "current": self.current, "wanted": self.wanted}


@dataclass(frozen=True)
class Impossible:
    """A change Kafka cannot make (or apply will not make); its presence blocks the whole plan."""

    topic: str
    setting: str
    current: int | str | None
    wanted: int | str
    reason: str
    kind = "impossible"

    def details(self) -> Details:
        return {"setting": self.setting, "current": self.current, "wanted": self.wanted, "reason": self.reason}


@dataclass(frozen=True)
class GrantAcl:
    acl: AclSpec
    kind = "grant_acl"

    @property
    def topic(self) -> str:
        return self.acl.resource_name

    def details(self) -> Details:
        return _acl_details(self.acl)


@dataclass(frozen=True)
class RevokeAcl:
    acl: AclSpec
    kind = "revoke_acl"

    @property
    def topic(self) -> str:
        return self.acl.resource_name

    def details(self) -> Details:
        return _acl_details(self.acl)


@dataclass(frozen=True)
class Orphan:
    """A topic on the cluster that no contract declares: reported, never deleted."""

    topic: str
    partitions: int
    kind = "orphan"

    def details(self) -> Details:
        return {"partitions": self.partitions}


def _acl_details(acl: AclSpec) -> Details:
    return {
        "resource_type": acl.resource_type,
        "principal": acl.principal,
        "operation": acl.operation,
        "permission": "ALLOW",
        "pattern": "LITERAL",
        "host": "*",
    }


@dataclass(frozen=True)
class Plan:
    bootstrap_servers: str
    brokers: int
    authorizer: bool
    creates: tuple[CreateTopic, ...] = ()
    partition_changes: tuple[AddPartitions, ...] = ()
    config_changes: tuple[AlterConfig, ...] = ()
    impossible: tuple[Impossible, ...] = ()
    grants: tuple[GrantAcl, ...] = ()
    revokes: tuple[RevokeAcl, ...] = ()
    orphans: tuple[Orphan, ...] = ()
    notes: tuple[str, ...] = ()
    # Apply's record of the ACLs each contract grants, for the contracts whose record changes.
    # Bookkeeping, not a change to anyone's access: it does not make the plan non-empty.
    state_updates: Mapping[str, frozenset[AclSpec]] = field(default_factory=dict)
    state_topic_exists: bool = True

    @property
    def change_count(self) -> int:
        return (
            len(self.creates)
            + len(self.partition_changes)
            + len(self.config_changes)
            + len(self.grants)
            + len(self.revokes)
        )

    @property
    def is_empty(self) -> bool:
        """Nothing to change and nothing impossible: the cluster matches the registry."""
        return self.change_count == 0 and not self.impossible

    @property
    def has_work(self) -> bool:
        """Something for the executor, state bookkeeping included."""
        return self.change_count > 0 or bool(self.state_updates)
