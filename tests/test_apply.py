"""`contracts apply`: the policies and the planner on plain data, then the CLI against a real broker.

The broker tests share the session's plain broker (`kafka_bootstrap`), so each one works on
its own copy of the example registry whose topic names carry a random suffix
(`email.dispatch-1a2b3c4d.v1`) and only looks at its own topics. The example registry asks
for replication factor 3, so most runs pass `--max-replication-factor 1`, as a developer
would on the one-broker cluster.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType  # type: ignore[attr-defined]
from contracts_cli.apply.cluster import ClusterState, ObservedTopic
from contracts_cli.apply.desired import (
    DLQ_MIN_RETENTION_MS,
    GROUP,
    TOPIC,
    AclSpec,
    DesiredState,
    contract_acls,
    desired_from_bindings,
    dlq_retention_ms,
    min_insync_replicas,
)
from contracts_cli.apply.planner import make_plan, same_config
from contracts_cli.apply.render import human_duration, plan_document, render_text
from contracts_cli.apply.state import STATE_TOPIC, decode, encode
from contracts_cli.model import Location, TopicBinding, consumer_group, normalize_principal

from tests.registry_fixtures import (
    AUDIT,
    EMAIL,
    MARKETING,
    PREFERENCES,
    REPOSITORY,
    contracts_env,
    run_contracts,
    session_cache,
)

DAY_MS = 86_400_000
QUIET = logging.getLogger("tests.apply.librdkafka")
QUIET.addHandler(logging.NullHandler())
EXAMPLE_TOPICS = {
    AUDIT: "audit.events.v1",
    EMAIL: "email.dispatch.v1",
    PREFERENCES: "preferences.changed.v1",
    MARKETING: "marketing.audience.v1",
}
DEV = ("--max-replication-factor", "1")
# The bound on "cluster unreachable": apply's own 10 s, plus process start and registry load.
UNREACHABLE_BOUND_SECONDS = 20.0


# ------------------------------------------------------------------------------------------ policies


@pytest.mark.parametrize(("replication_factor", "expected"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2)])
def test_min_insync_replicas_keeps_writes_going_with_one_broker_down(replication_factor: int, expected: int) -> None:
    assert min_insync_replicas(replication_factor) == expected


@pytest.mark.parametrize(
    ("topic_retention", "expected"),
    [(None, DLQ_MIN_RETENTION_MS), (3 * DAY_MS, DLQ_MIN_RETENTION_MS), (30 * DAY_MS, 30 * DAY_MS), (-1, -1)],
)
def test_dead_letter_retention_is_the_longer_of_the_topics_and_14_days(
    topic_retention: int | None,
    expected: int,
) -> None:
    assert dlq_retention_ms(topic_retention) == expected


@pytest.mark.parametrize(
    ("principal", "normal", "group"),
    [("svc-billing", "User:svc-billing", "svc-billing"), ("User:svc-dns", "User:svc-dns", "svc-dns")],
)
def test_a_bare_principal_is_a_user_and_reads_with_a_group_of_its_name(principal: str, normal: str, group: str) -> None:
    assert (normalize_principal(principal), consumer_group(principal)) == (normal, group)


def binding(
    name: str = "orders.placed.v1",
    *,
    partitions: int | None = 6,
    replication_factor: int | None = 3,
    retention: str = "3d",
    cleanup_policy: str = "",
    producers: Sequence[str] = (),
    consumers: Sequence[str] = (),
) -> TopicBinding:
    return TopicBinding(
        name=name,
        message="orders.v1.OrderPlaced",
        key="order_id",
        partitions=partitions,
        replication_factor=replication_factor,
        retention=retention,
        cleanup_policy=cleanup_policy,
        owner="team-orders",
        producers=tuple(producers),
        consumers=tuple(consumers),
        compatibility="source",
        location=Location("proto/orders/v1/orders.proto", 9, 3),
    )


def test_producers_get_write_and_describe_consumers_read_their_group_and_the_dead_letter_topic() -> None:
    acls = contract_acls(binding(producers=["svc-orders"], consumers=["User:svc-billing"]))
    assert acls == {
        AclSpec(TOPIC, "orders.placed.v1", "User:svc-orders", "WRITE"),
        AclSpec(TOPIC, "orders.placed.v1", "User:svc-orders", "DESCRIBE"),
        AclSpec(TOPIC, "orders.placed.v1", "User:svc-billing", "READ"),
        AclSpec(TOPIC, "orders.placed.v1", "User:svc-billing", "DESCRIBE"),
        AclSpec(GROUP, "svc-billing", "User:svc-billing", "READ"),
        AclSpec(TOPIC, "orders.placed.v1.dlq", "User:svc-billing", "WRITE"),
    }


def test_the_dead_letter_topic_sits_beside_the_topic_with_its_sizing_and_its_own_retention() -> None:
    topic, dlq = desired_from_bindings([binding(cleanup_policy="compact")], None).topics
    assert (topic.name, topic.partitions, topic.replication_factor) == ("orders.placed.v1", 6, 3)
    assert topic.configs == {"cleanup.policy": "compact", "min.insync.replicas": "2", "retention.ms": str(3 * DAY_MS)}
    assert (dlq.name, dlq.partitions, dlq.replication_factor) == ("orders.placed.v1.dlq", 6, 3)
    assert dlq.contract == topic.name
    assert dlq.configs == {"cleanup.policy": "delete", "min.insync.replicas": "2", "retention.ms": str(14 * DAY_MS)}


def test_max_replication_factor_caps_the_factor_and_min_insync_replicas_with_it() -> None:
    topic, dlq = desired_from_bindings([binding(replication_factor=3)], 1).topics
    assert (topic.replication_factor, topic.declared_replication_factor) == (1, 3)
    assert topic.configs["min.insync.replicas"] == "1"
    assert (dlq.replication_factor, dlq.configs["min.insync.replicas"]) == (1, "1")
    unchanged, _ = desired_from_bindings([binding(replication_factor=2)], 3).topics
    assert (unchanged.replication_factor, unchanged.declared_replication_factor) == (2, None)


def test_unset_sizing_is_left_to_the_cluster() -> None:
    topic, _ = desired_from_bindings([binding(partitions=None, replication_factor=None, retention="")], None).topics
    assert (topic.partitions, topic.replication_factor, topic.configs) == (None, None, {"cleanup.policy": "delete"})


# ------------------------------------------------------------------------------------------- planner


def observed(configs: dict[str, str], partitions: int = 6, rf: int = 3) -> ObservedTopic:
    return ObservedTopic("orders.placed.v1", partitions, rf, dict(configs))


def cluster_matching(desired: DesiredState, brokers: int = 3, **overrides: object) -> ClusterState:
    """A cluster that already holds exactly the desired topics (ACLs and records included)."""
    topics = {
        spec.name: ObservedTopic(spec.name, spec.partitions or 1, spec.replication_factor or 1, dict(spec.configs))
        for spec in desired.topics
    }
    topics[STATE_TOPIC] = ObservedTopic(STATE_TOPIC, 1, 1)
    values: dict[str, object] = {
        "bootstrap_servers": "kafka:9092",
        "brokers": brokers,
        "topics": topics,
        "authorizer": True,
        "acls": desired.acls,
        "recorded": dict(desired.acls_by_contract),
    }
    values.update(overrides)
    return ClusterState(**values)  # type: ignore[arg-type]


def with_topic(cluster: ClusterState, topic: ObservedTopic) -> dict[str, ObservedTopic]:
    return {**cluster.topics, topic.name: topic}


def test_a_cluster_that_matches_gives_an_empty_plan() -> None:
    desired = desired_from_bindings([binding(producers=["a"], consumers=["b"])], None)
    plan = make_plan(desired, cluster_matching(desired))
    assert plan.is_empty and not plan.has_work
    assert render_text(plan).splitlines()[-1] == "No changes: the cluster matches the registry."


def test_missing_topics_are_created_with_their_dead_letter_topics() -> None:
    desired = desired_from_bindings([binding()], None)
    plan = make_plan(desired, cluster_matching(desired, topics={}))
    assert [create.topic for create in plan.creates] == ["orders.placed.v1", "orders.placed.v1.dlq"]


def test_more_partitions_is_a_change_fewer_is_impossible() -> None:
    desired = desired_from_bindings([binding(partitions=6)], None)
    cluster = cluster_matching(desired)
    spec = desired.topics[0]
    fewer = with_topic(cluster, observed(dict(spec.configs), partitions=4))
    grow = make_plan(desired, cluster_matching(desired, topics=fewer))
    assert [(c.topic, c.current, c.wanted) for c in grow.partition_changes] == [("orders.placed.v1", 4, 6)]
    more = with_topic(cluster, observed(dict(spec.configs), partitions=8))
    shrink = make_plan(desired, cluster_matching(desired, topics=more))
    assert [(i.topic, i.setting, i.current, i.wanted) for i in shrink.impossible] == [
        ("orders.placed.v1", "partitions", 8, 6)
    ]
    assert "cannot remove partitions" in shrink.impossible[0].reason


def test_a_replication_factor_change_is_impossible_and_so_is_one_above_the_broker_count() -> None:
    desired = desired_from_bindings([binding(replication_factor=3)], None)
    cluster = cluster_matching(desired)
    spec = desired.topics[0]
    two_replicas = with_topic(cluster, observed(dict(spec.configs), rf=2))
    changed = make_plan(desired, cluster_matching(desired, topics=two_replicas))
    assert [(i.setting, i.current, i.wanted) for i in changed.impossible] == [("replication_factor", 2, 3)]
    assert "reassignment" in changed.impossible[0].reason
    small = make_plan(desired, cluster_matching(desired, brokers=1, topics={}))
    assert {(i.topic, i.current, i.wanted) for i in small.impossible} == {
        ("orders.placed.v1", None, 3),
        ("orders.placed.v1.dlq", None, 3),
    }
    assert not small.creates, "a topic that cannot be created is not also listed for creation"
    assert "--max-replication-factor 1" in small.impossible[0].reason


def test_config_drift_is_a_change_from_old_to_new() -> None:
    desired = desired_from_bindings([binding(retention="3d")], None)
    cluster = cluster_matching(desired)
    drifted = {**desired.topics[0].configs, "retention.ms": str(7 * DAY_MS)}
    plan = make_plan(desired, cluster_matching(desired, topics=with_topic(cluster, observed(drifted))))
    assert [(c.topic, c.name, c.current, c.wanted) for c in plan.config_changes] == [
        ("orders.placed.v1", "retention.ms", str(7 * DAY_MS), str(3 * DAY_MS))
    ]
    assert "~ topic orders.placed.v1  retention.ms 604800000 (7d) -> 259200000 (3d)" in render_text(plan)


def test_config_values_compare_as_kafka_means_them() -> None:
    assert same_config("cleanup.policy", "delete,compact", "compact,delete")
    assert not same_config("cleanup.policy", "delete", "compact")
    assert same_config("retention.ms", "604800000", "604800000")
    assert not same_config("min.insync.replicas", None, "2")


def test_undeclared_topics_are_orphans_except_internal_ones_and_apply_state() -> None:
    desired = desired_from_bindings([binding()], None)
    cluster = cluster_matching(desired)
    extra = {name: ObservedTopic(name, 1, 3) for name in ("__consumer_offsets", "legacy.orders", "legacy.orders.dlq")}
    plan = make_plan(desired, cluster_matching(desired, topics={**cluster.topics, **extra}))
    assert [orphan.topic for orphan in plan.orphans] == ["legacy.orders", "legacy.orders.dlq"]
    assert plan.is_empty, "orphans are reported, never changed"


def test_apply_revokes_only_what_its_record_holds() -> None:
    before = desired_from_bindings([binding(producers=["alice", "bob"])], None)
    after = desired_from_bindings([binding(producers=["bob"])], None)
    by_hand = AclSpec(TOPIC, "orders.placed.v1", "User:carol", "READ")
    cluster = cluster_matching(after, acls=before.acls | {by_hand}, recorded=dict(before.acls_by_contract))
    plan = make_plan(after, cluster)
    assert {str(revoke.acl) for revoke in plan.revokes} == {
        "User:alice WRITE on topic orders.placed.v1",
        "User:alice DESCRIBE on topic orders.placed.v1",
    }
    assert not plan.grants
    assert plan.state_updates == {"orders.placed.v1": after.acls_by_contract["orders.placed.v1"]}


def test_a_group_still_used_by_a_topic_dropped_from_the_registry_keeps_its_acl() -> None:
    kept = binding("orders.placed.v1", consumers=["bob"])
    dropped = binding("orders.legacy.v1", consumers=["bob"])
    everything = desired_from_bindings([kept, dropped], None)
    now = desired_from_bindings([binding("orders.placed.v1")], None)
    plan = make_plan(now, cluster_matching(now, acls=everything.acls, recorded=dict(everything.acls_by_contract)))
    revoked = {revoke.acl for revoke in plan.revokes}
    assert AclSpec(TOPIC, "orders.placed.v1", "User:bob", "READ") in revoked
    assert AclSpec(GROUP, "bob", "User:bob", "READ") not in revoked, "orders.legacy.v1 still grants bob its group"
    assert not {acl for acl in revoked if acl.resource_name.startswith("orders.legacy")}


def test_matching_acls_made_by_hand_are_recorded_and_noted() -> None:
    desired = desired_from_bindings([binding(producers=["alice"])], None)
    plan = make_plan(desired, cluster_matching(desired, recorded={}))
    assert plan.is_empty and plan.has_work
    assert plan.state_updates == dict(desired.acls_by_contract)
    assert any("2 ACL(s) already on the cluster match" in note for note in plan.notes)


def test_the_state_topic_is_created_when_there_is_something_to_record() -> None:
    desired = desired_from_bindings([binding(producers=["alice"])], None)
    topics = {name: topic for name, topic in cluster_matching(desired).topics.items() if name != STATE_TOPIC}
    plan = make_plan(desired, cluster_matching(desired, topics=topics, acls=frozenset(), recorded={}))
    assert [create.topic for create in plan.creates] == [STATE_TOPIC]
    assert plan.creates[0].spec.configs == {"cleanup.policy": "compact"}


def test_without_an_authorizer_acls_are_skipped_and_the_plan_says_so() -> None:
    desired = desired_from_bindings([binding(producers=["alice"])], None)
    plan = make_plan(desired, cluster_matching(desired, authorizer=False, acls=frozenset(), recorded={}))
    assert plan.is_empty and not plan.grants
    assert "no authorizer" in render_text(plan).splitlines()[0]
    assert any("ACLs skipped" in note and "2 grant(s)" in note for note in plan.notes)


def test_records_round_trip_and_an_empty_grant_is_a_tombstone() -> None:
    acls = contract_acls(binding(producers=["alice"], consumers=["bob"]))
    assert decode(encode(acls)) == acls
    assert encode(frozenset()) is None and decode(None) == frozenset()


def test_json_plan_has_lists_of_actions_with_kind_topic_and_details() -> None:
    desired = desired_from_bindings([binding(producers=["alice"])], 1)
    plan = make_plan(desired, cluster_matching(desired, brokers=1, topics={}, acls=frozenset(), recorded={}))
    document = plan_document(plan, dry_run=True)
    assert set(document) >= {"create", "change", "impossible", "acls", "orphans", "notes", "empty", "dry_run"}
    first = document["create"][0]  # type: ignore[index]
    assert first == {
        "kind": "create_topic",
        "topic": "orders.placed.v1",
        "details": {
            "partitions": 6,
            "replication_factor": 1,
            "declared_replication_factor": 3,
            "contract": "orders.placed.v1",
            "dead_letter_topic": False,
            "configs": {"cleanup.policy": "delete", "min.insync.replicas": "1", "retention.ms": str(3 * DAY_MS)},
        },
    }
    assert {action["kind"] for action in document["acls"]} == {"grant_acl"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("milliseconds", "text"), [(-1, "infinite"), (3 * DAY_MS, "3d"), (5_400_000, "90m"), (1500, "1500ms")]
)
def test_durations_print_like_contracts_write_them(milliseconds: int, text: str) -> None:
    assert human_duration(milliseconds) == text


# ------------------------------------------------------------------------------- against the broker


@dataclass
class Registry:
    """A copy of the example registry whose topic names carry a unique suffix."""

    path: Path
    env: dict[str, str]
    bootstrap: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def topic(self, original: str) -> str:
        """`email.dispatch.v1` -> `email.dispatch-<suffix>.v1`, the name in this copy."""
        base, _, version = original.rpartition(".")
        return f"{base}-{self.suffix}.{version}"

    @property
    def topics(self) -> list[str]:
        names = [self.topic(name) for name in EXAMPLE_TOPICS.values()]
        return sorted(names + [f"{name}.dlq" for name in names])

    def edit(self, file: str, old: str, new: str) -> None:
        path = self.path / file
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{file}: expected one {old!r}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def apply(self, *args: str, bootstrap: str | None = None) -> Run:
        started = time.monotonic()
        arguments = ["apply", "--bootstrap-servers", bootstrap or self.bootstrap, *args]
        result = run_contracts(arguments, self.path, self.env)
        return Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def plan(self) -> dict[str, object]:
        document: dict[str, object] = json.loads(self.stdout)
        return document

    def lines(self, prefix: str) -> list[str]:
        """The plan's lines starting with `prefix`, with runs of spaces squeezed (columns depend on other topics)."""
        return [" ".join(line.split()) for line in self.stdout.splitlines() if line.startswith(prefix)]


def make_registry(directory: Path, env: dict[str, str], bootstrap: str) -> Registry:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("buf.yaml", "contracts.toml"):
        shutil.copy2(REPOSITORY / name, directory / name)
    shutil.copytree(REPOSITORY / "proto", directory / "proto")
    shutil.copytree(REPOSITORY / "third_party", directory / "third_party")  # protovalidate's rules
    registry = Registry(directory, env, bootstrap)
    for file, topic in EXAMPLE_TOPICS.items():
        registry.edit(file, f'name: "{topic}"', f'name: "{registry.topic(topic)}"')
    return registry


def kafka_free_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The CLI's environment without the caller's KAFKA_* settings: each test says what it connects to."""
    env = contracts_env(session_cache(tmp_path_factory))
    return {name: value for name, value in env.items() if not name.startswith("KAFKA_")}


@pytest.fixture
def registry(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Registry:
    return make_registry(tmp_path / "registry", kafka_free_env(tmp_path_factory), kafka_bootstrap)


@pytest.fixture
def offline_registry(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """For runs that must fail before reaching any cluster."""
    return make_registry(tmp_path / "registry", kafka_free_env(tmp_path_factory), f"127.0.0.1:{_closed_port()}")


@pytest.fixture(scope="module")
def admin(kafka_bootstrap: str) -> Iterator[AdminClient]:
    config: dict[str, Any] = {"bootstrap.servers": kafka_bootstrap, "logger": QUIET}
    yield AdminClient(config)


def snapshot(admin: AdminClient, names: Sequence[str]) -> dict[str, tuple[int, int, dict[str, str]]]:
    """partitions, replication factor and the managed configs of each existing topic of `names`."""
    metadata = admin.list_topics(timeout=10)
    present = [name for name in names if name in metadata.topics]
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in present]
    configs = {r.name: f.result() for r, f in admin.describe_configs(resources).items()} if resources else {}
    result = {}
    for name in present:
        partitions = metadata.topics[name].partitions
        managed = {key: configs[name][key].value for key in ("retention.ms", "cleanup.policy", "min.insync.replicas")}
        result[name] = (len(partitions), len(partitions[0].replicas), managed)
    return result


@pytest.mark.kafka
def test_apply_creates_every_topic_with_its_dead_letter_topic(registry: Registry, admin: AdminClient) -> None:
    run = registry.apply(*DEV)
    assert run.code == 0, run.stderr
    email = registry.topic("email.dispatch.v1")
    assert f"+ topic {email}" in run.stdout
    assert run.stderr.strip() == f"applied {2 * len(EXAMPLE_TOPICS)} change(s)"
    state = snapshot(admin, registry.topics)
    assert sorted(state) == registry.topics
    assert state[email] == (6, 1, {"retention.ms": "259200000", "cleanup.policy": "delete", "min.insync.replicas": "1"})
    assert state[f"{email}.dlq"] == (
        6,
        1,
        {"retention.ms": str(14 * DAY_MS), "cleanup.policy": "delete", "min.insync.replicas": "1"},
    )
    preferences = registry.topic("preferences.changed.v1")
    assert state[preferences] == (3, 1, {"retention.ms": "-1", "cleanup.policy": "compact", "min.insync.replicas": "1"})
    assert state[f"{preferences}.dlq"][2]["cleanup.policy"] == "delete"
    assert "no authorizer, ACLs skipped" in run.stdout.splitlines()[0]


@pytest.mark.kafka
def test_a_second_apply_prints_an_empty_plan_and_changes_nothing(registry: Registry, admin: AdminClient) -> None:
    assert registry.apply(*DEV).code == 0
    before = snapshot(admin, registry.topics)
    again = registry.apply(*DEV, "--format", "json")
    assert again.code == 0, again.stderr
    plan = again.plan
    assert plan["empty"] is True
    assert (plan["create"], plan["change"], plan["impossible"], plan["acls"]) == ([], [], [], [])
    assert again.stderr.strip() == "nothing to do"
    assert snapshot(admin, registry.topics) == before
    text = registry.apply(*DEV)
    assert not text.lines("+") and not text.lines("~") and not text.lines("!")
    assert text.stdout.splitlines()[-1].startswith("No changes: the cluster matches the registry")


@pytest.mark.kafka
def test_more_partitions_in_the_contract_are_added_to_topic_and_dead_letter_topic(
    registry: Registry, admin: AdminClient
) -> None:
    assert registry.apply(*DEV).code == 0
    registry.edit(EMAIL, "partitions: 6", "partitions: 8")
    run = registry.apply(*DEV)
    assert run.code == 0, run.stderr
    email = registry.topic("email.dispatch.v1")
    assert [line.split()[2:5] for line in run.lines("~")] == [
        [email, "partitions", "6"],
        [f"{email}.dlq", "partitions", "6"],
    ]
    state = snapshot(admin, [email, f"{email}.dlq"])
    assert (state[email][0], state[f"{email}.dlq"][0]) == (8, 8)
    assert registry.apply(*DEV, "--format", "json").plan["empty"] is True


@pytest.mark.kafka
def test_a_retention_change_is_shown_old_to_new_and_applied(registry: Registry, admin: AdminClient) -> None:
    assert registry.apply(*DEV).code == 0
    registry.edit(EMAIL, 'retention: "3d"', 'retention: "5d"')
    run = registry.apply(*DEV)
    assert run.code == 0, run.stderr
    email = registry.topic("email.dispatch.v1")
    assert run.lines("~") == [f"~ topic {email} retention.ms 259200000 (3d) -> 432000000 (5d)"]
    assert snapshot(admin, [email])[email][2]["retention.ms"] == "432000000"
    assert snapshot(admin, [f"{email}.dlq"])[f"{email}.dlq"][2]["retention.ms"] == str(14 * DAY_MS)


@pytest.mark.kafka
def test_a_partition_decrease_is_refused_and_nothing_is_applied(registry: Registry, admin: AdminClient) -> None:
    assert registry.apply(*DEV).code == 0
    before = snapshot(admin, registry.topics)
    registry.edit(EMAIL, "partitions: 6", "partitions: 2")
    registry.edit(AUDIT, 'retention: "7d"', 'retention: "9d"')  # a possible change in the same plan
    run = registry.apply(*DEV)
    assert run.code == 1, run.stderr
    email = registry.topic("email.dispatch.v1")
    assert [line.split()[2] for line in run.lines("!")] == [email, f"{email}.dlq"]
    assert "partitions 6 -> 2: Kafka cannot remove partitions" in run.lines("!")[0]
    assert run.lines("~"), "the possible change is still shown"
    assert run.stderr.strip() == ("error: the plan holds 2 change(s) Kafka cannot make (marked !): nothing was applied")
    assert snapshot(admin, registry.topics) == before


@pytest.mark.kafka
def test_a_topic_no_contract_declares_is_reported_and_left_alone(registry: Registry, admin: AdminClient) -> None:
    orphan = f"legacy.orders-{registry.suffix}"
    (future,) = admin.create_topics([NewTopic(orphan, 2, 1)]).values()
    future.result()
    run = registry.apply(*DEV, "--format", "json")
    assert run.code == 0, run.stderr
    orphans = {action["topic"]: action for action in run.plan["orphans"]}  # type: ignore[attr-defined]
    assert orphans[orphan] == {"kind": "orphan", "topic": orphan, "details": {"partitions": 2}}
    assert not [name for name in orphans if name.startswith("__")]
    assert not [name for name in orphans if registry.suffix in name and name != orphan], "own topics are declared"
    text = registry.apply(*DEV)
    assert any(line.startswith(f"? topic {orphan} ") and "reported, not deleted" in line for line in text.lines("?"))
    assert orphan in admin.list_topics(timeout=10).topics


@pytest.mark.kafka
def test_dry_run_prints_the_plan_and_changes_nothing(registry: Registry, admin: AdminClient) -> None:
    run = registry.apply(*DEV, "--dry-run", "--format", "json")
    assert run.code == 0, run.stderr
    assert run.plan["dry_run"] is True
    assert sorted(action["topic"] for action in run.plan["create"]) == registry.topics  # type: ignore[attr-defined]
    assert run.stderr.strip() == "dry run: nothing was applied"
    assert snapshot(admin, registry.topics) == {}


@pytest.mark.kafka
def test_replication_factor_above_the_broker_count_needs_the_cap(registry: Registry, admin: AdminClient) -> None:
    refused = registry.apply()
    assert refused.code == 1
    assert len(refused.lines("!")) == 2 * len(EXAMPLE_TOPICS)
    assert "replication.factor 3 (new topic): more replicas than the cluster's 1 broker(s)" in refused.lines("!")[0]
    assert snapshot(admin, registry.topics) == {}

    capped = registry.apply("--max-replication-factor", "1", "--format", "json")
    assert capped.code == 0, capped.stderr
    create = capped.plan["create"][0]["details"]  # type: ignore[index]
    assert (create["replication_factor"], create["declared_replication_factor"]) == (1, 3)
    assert create["configs"]["min.insync.replicas"] == "1"
    assert {rf for _, rf, _ in snapshot(admin, registry.topics).values()} == {1}


def test_an_unreachable_cluster_is_an_error_within_a_bounded_time(offline_registry: Registry) -> None:
    run = offline_registry.apply(*DEV)
    assert run.code == 2
    assert run.seconds < UNREACHABLE_BOUND_SECONDS
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: cannot reach Kafka at 127.0.0.1:") and "Connection refused" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "error: --format takes text or json, not 'xml'"),
        (["--security-protocol", "TLS"], "error: security protocol 'TLS' is not one of"),
        (["--sasl-username", "admin"], "error: SASL credentials are incomplete"),
    ],
)
def test_bad_flags_are_a_one_line_error(offline_registry: Registry, args: list[str], message: str) -> None:
    run = offline_registry.apply(*args)
    assert run.code == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(message)


def test_no_bootstrap_servers_is_a_one_line_error(offline_registry: Registry) -> None:
    result = run_contracts(["apply"], offline_registry.path, offline_registry.env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no Kafka bootstrap servers: pass --bootstrap-servers HOST:PORT or set KAFKA_BOOTSTRAP_SERVERS"
    )


def test_a_registry_that_breaks_a_rule_is_not_applied(offline_registry: Registry) -> None:
    offline_registry.edit(EMAIL, "partitions: 6", "partitions: 0")
    run = offline_registry.apply()
    assert run.code == 2
    (line,) = run.stderr.strip().splitlines()
    assert "TOPIC_PARTITIONS_POSITIVE" in line and "nothing was applied" in line


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
