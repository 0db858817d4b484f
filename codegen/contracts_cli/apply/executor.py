"""Run a plan against the cluster with the AdminClient, in an order that is safe to interrupt.

Topics first (create, add partitions, configs), then ACLs (grant, revoke), then apply's record of
the ACLs. Interrupted anywhere, the next apply finishes the job: a granted ACL that is not yet
recorded matches the contracts and is recorded then; a revoked one that is still recorded is
simply dropped from the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import TypeVar

from confluent_kafka import KafkaException

# confluent-kafka 2.16 re-exports these from private modules without __all__.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from contracts_cli.apply.cluster import acl_binding, acl_filter
from contracts_cli.apply.plan import AddPartitions, AlterConfig, CreateTopic, GrantAcl, Plan, RevokeAcl
from contracts_cli.apply.state import write_state
from contracts_cli.errors import ContractsError
from contracts_cli.kafka import REQUEST_TIMEOUT_SECONDS, describe_failure

K = TypeVar("K")


class ApplyFailed(ContractsError):
    """A step failed after `done` changes were made; the message says which and how many."""

    def __init__(self, step: str, detail: str, done: Sequence[str]) -> None:
        made = f"{len(done)} change(s) were made before it; run apply again once fixed" if done else "nothing changed"
        super().__init__(f"{step} failed: {detail} ({made})")
        self.done = list(done)


def execute(
    admin: AdminClient, settings: Mapping[str, str], plan: Plan, timeout: float = REQUEST_TIMEOUT_SECONDS
) -> list[str]:
    """Make the plan's changes; returns one line per change made. Raises ApplyFailed."""
    if plan.impossible:
        raise ContractsError("refusing to run a plan that holds impossible changes")  # the caller checks first
    done: list[str] = []
    _create_topics(admin, plan.creates, timeout, done)
    _add_partitions(admin, plan.partition_changes, timeout, done)
    _alter_configs(admin, plan.config_changes, timeout, done)
    _grant(admin, plan.grants, timeout, done)
    _revoke(admin, plan.revokes, timeout, done)
    if plan.state_updates:
        try:
            write_state(settings, plan.state_updates, timeout)
        except ContractsError as error:
            raise ApplyFailed("recording the granted ACLs", error.message, done) from None
    return done


def _create_topics(admin: AdminClient, creates: Sequence[CreateTopic], timeout: float, done: list[str]) -> None:
    if not creates:
        return
    new_topics = [
        NewTopic(
            action.spec.name,
            num_partitions=action.spec.partitions or -1,  # -1: the cluster's default
            replication_factor=action.spec.replication_factor or -1,
            config=dict(action.spec.configs),
        )
        for action in creates
    ]
    futures = admin.create_topics(new_topics, operation_timeout=timeout, request_timeout=timeout)
    _wait(futures, "creating topic", lambda name: f"created topic {name}", done, timeout)


def _add_partitions(admin: AdminClient, changes: Sequence[AddPartitions], timeout: float, done: list[str]) -> None:
    if not changes:
        return
    requests = [NewPartitions(change.topic, change.wanted) for change in changes]
    wanted = {change.topic: change for change in changes}
    futures = admin.create_partitions(requests, operation_timeout=timeout, request_timeout=timeout)
    _wait(
        futures,
        "adding partitions to",
        lambda name: f"topic {name}: partitions {wanted[name].current} -> {wanted[name].wanted}",
        done,
        timeout,
    )


def _alter_configs(admin: AdminClient, changes: Sequence[AlterConfig], timeout: float, done: list[str]) -> None:
    by_topic: dict[str, list[AlterConfig]] = {}
    for change in changes:
        by_topic.setdefault(change.topic, []).append(change)
    if not by_topic:
        return
    resources = [
        ConfigResource(
            ResourceType.TOPIC,
            topic,
            incremental_configs=[
                ConfigEntry(change.name, change.wanted, incremental_operation=AlterConfigOpType.SET) for change in items
            ],
        )
        for topic, items in sorted(by_topic.items())
    ]
    futures = admin.incremental_alter_configs(resources, request_timeout=timeout)

    def describe(resource: ConfigResource) -> str:
        items = by_topic[resource.name]
        return f"topic {resource.name}: " + ", ".join(f"{c.name} {c.current} -> {c.wanted}" for c in items)

    _wait(futures, "changing the configs of", describe, done, timeout, name_of=lambda resource: resource.name)


def _grant(admin: AdminClient, grants: Sequence[GrantAcl], timeout: float, done: list[str]) -> None:
    if not grants:
        return
    bindings = {acl_binding(grant.acl): grant for grant in grants}
    futures = admin.create_acls(list(bindings), request_timeout=timeout)
    _wait(
        futures,
        "granting",
        lambda binding: f"granted {bindings[binding].acl}",
        done,
        timeout,
        name_of=lambda binding: str(bindings[binding].acl),
    )


def _revoke(admin: AdminClient, revokes: Sequence[RevokeAcl], timeout: float, done: list[str]) -> None:
    if not revokes:
        return
    filters = {acl_filter(revoke.acl): revoke for revoke in revokes}
    futures = admin.delete_acls(list(filters), request_timeout=timeout)
    _wait(
        futures,
        "revoking",
        lambda acl_filter: f"revoked {filters[acl_filter].acl}",
        done,
        timeout,
        name_of=lambda acl_filter: str(filters[acl_filter].acl),
    )


def _wait(
    futures: Mapping[K, Future[object]],
    step: str,
    success: Callable[[K], str],
    done: list[str],
    timeout: float,
    name_of: Callable[[K], str] = str,
) -> None:
    """Wait for every future; record the successes, then fail with the first failure if any."""
    failures: list[tuple[str, str]] = []
    for key, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as error:
            failures.append((f"{step} {name_of(key)}", describe_failure(error)))
            continue
        except TimeoutError:
            failures.append((f"{step} {name_of(key)}", f"no answer within {timeout:g}s"))
            continue
        done.append(success(key))
    if failures:
        what, detail = failures[0]
        more = f" (and {len(failures) - 1} more failure(s))" if len(failures) > 1 else ""
        raise ApplyFailed(what, detail + more, done)
