"""`contracts apply` ACLs against a second local broker: SASL/PLAIN and Kafka's StandardAuthorizer.

The broker's users are admin (super user), alice, bob, carol and mallory (`<name>-secret`),
with no ACLs at start. Each test applies its own copy of the example registry (unique topic
names) in which email.dispatch.v1 is written by alice and read by bob, then checks access
with real clients configured as the SDK configures them (idempotent producer, acks=all).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from contracts_runtime.producer import PRODUCER_DEFAULTS

from tests.kafka_broker import BrokerInfo, start_broker, stop_broker
from tests.registry_fixtures import EMAIL
from tests.test_apply import DEV, QUIET, Registry, kafka_free_env, make_registry

pytestmark = pytest.mark.kafka

CLIENT_SECONDS = 20.0
WRONG_CREDENTIALS_BOUND_SECONDS = 20.0
EMAIL_PRINCIPALS = '    producers: "svc-billing"\n    producers: "svc-accounts"\n    consumers: "svc-mailer"\n'


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerInfo]:
    info = start_broker("sasl", tmp_path_factory.mktemp("kafka-sasl"))
    try:
        yield info
    finally:
        stop_broker(info)


@pytest.fixture(scope="module")
def admin(broker: BrokerInfo) -> AdminClient:
    config: dict[str, Any] = {**broker.client_config(), "logger": QUIET}
    return AdminClient(config)


def sasl_registry(directory: Path, tmp_path_factory: pytest.TempPathFactory, broker: BrokerInfo) -> Registry:
    """A registry whose email topic is written by alice and read by bob; admin's settings in the environment."""
    env = kafka_free_env(tmp_path_factory)
    env.update(
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": "admin",
            "KAFKA_SASL_PASSWORD": broker.users["admin"],
        }
    )
    registry = make_registry(directory, env, broker.bootstrap_servers)
    registry.edit(EMAIL, EMAIL_PRINCIPALS, '    producers: "alice"\n    consumers: "bob"\n')
    return registry


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory, broker: BrokerInfo) -> Registry:
    """One registry applied once, for the tests that only read."""
    registry = sasl_registry(tmp_path_factory.mktemp("acls") / "registry", tmp_path_factory, broker)
    run = registry.apply(*DEV)
    assert run.code == 0, run.stderr
    return registry


@pytest.fixture
def registry(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, broker: BrokerInfo) -> Registry:
    return sasl_registry(tmp_path / "registry", tmp_path_factory, broker)


def produce(broker: BrokerInfo, user: str, topic: str) -> KafkaError | None:
    """Write one record as `user` with the SDK's producer settings; the delivery error, if any."""
    reports: list[KafkaError | None] = []
    producer = Producer({**PRODUCER_DEFAULTS, **broker.client_config(user), "logger": QUIET})
    value = f"from {user}".encode()
    producer.produce(topic, key=b"key", value=value, on_delivery=lambda error, _: reports.append(error))
    producer.flush(CLIENT_SECONDS)
    assert reports, f"no delivery report for {user} on {topic} within {CLIENT_SECONDS}s"
    return reports[0]


def consume_one(broker: BrokerInfo, user: str, topic: str, group: str) -> bytes | KafkaError:
    """Read one record as `user` in `group` and commit it synchronously; or the error Kafka gave."""
    consumer = Consumer(
        {
            **broker.client_config(user),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false",
            "logger": QUIET,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + CLIENT_SECONDS
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                return error
            consumer.commit(message=message, asynchronous=False)
            return message.value() or b""
        raise AssertionError(f"{user} read nothing from {topic} within {CLIENT_SECONDS}s")
    finally:
        consumer.close()


def code(outcome: KafkaError | bytes | None) -> int | None:
    return outcome.code() if isinstance(outcome, KafkaError) else None


def test_a_listed_producer_can_write_and_an_unlisted_one_is_denied(applied: Registry, broker: BrokerInfo) -> None:
    email = applied.topic("email.dispatch.v1")
    assert produce(broker, "alice", email) is None
    assert code(produce(broker, "mallory", email)) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert code(produce(broker, "bob", email)) == KafkaError.TOPIC_AUTHORIZATION_FAILED, "a consumer may not write"


def test_a_listed_consumer_reads_with_its_group_and_no_other(applied: Registry, broker: BrokerInfo) -> None:
    email = applied.topic("email.dispatch.v1")
    assert produce(broker, "alice", email) is None
    assert consume_one(broker, "bob", email, "bob") == b"from alice"
    assert code(consume_one(broker, "bob", email, "not-bob")) == KafkaError.GROUP_AUTHORIZATION_FAILED
    assert code(consume_one(broker, "carol", email, "carol")) in (
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
    )


def test_a_consumer_may_dead_letter_with_the_sdk_producer(applied: Registry, broker: BrokerInfo) -> None:
    email = applied.topic("email.dispatch.v1")
    assert produce(broker, "bob", f"{email}.dlq") is None
    assert code(produce(broker, "alice", f"{email}.dlq")) == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_second_apply_grants_nothing_and_writes_nothing(applied: Registry) -> None:
    run = applied.apply(*DEV, "--format", "json")
    assert run.code == 0, run.stderr
    assert (run.plan["empty"], run.plan["acls"], run.plan["create"], run.plan["authorizer"]) == (True, [], [], True)
    assert run.stderr.strip() == "nothing to do"


def test_removing_a_producer_revokes_its_access_and_leaves_acls_made_by_hand(
    registry: Registry, broker: BrokerInfo, admin: AdminClient
) -> None:
    assert registry.apply(*DEV).code == 0
    email = registry.topic("email.dispatch.v1")
    assert produce(broker, "alice", email) is None
    by_hand = AclBinding(
        ResourceType.TOPIC,
        email,
        ResourcePatternType.LITERAL,
        "User:mallory",
        "*",
        AclOperation.DESCRIBE,
        AclPermissionType.ALLOW,
    )
    for future in admin.create_acls([by_hand]).values():
        future.result()

    registry.edit(EMAIL, 'producers: "alice"', 'producers: "carol"')
    run = registry.apply(*DEV)
    assert run.code == 0, run.stderr
    assert run.lines("- acl") == [
        f"- acl User:alice DESCRIBE on topic {email}",
        f"- acl User:alice WRITE on topic {email}",
    ]
    assert run.lines("+ acl") == [
        f"+ acl User:carol DESCRIBE on topic {email}",
        f"+ acl User:carol WRITE on topic {email}",
    ]
    assert code(produce(broker, "alice", email)) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert produce(broker, "carol", email) is None
    mallory = AclBindingFilter(
        ResourceType.TOPIC,
        email,
        ResourcePatternType.LITERAL,
        "User:mallory",
        "*",
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    remaining = admin.describe_acls(mallory).result()
    assert [acl.principal for acl in remaining] == ["User:mallory"], "an ACL apply did not write stays"
    assert registry.apply(*DEV, "--format", "json").plan["empty"] is True


def test_wrong_credentials_are_a_one_line_error_within_a_bounded_time(registry: Registry) -> None:
    run = registry.apply(*DEV, "--sasl-password", "not-the-password")
    assert run.code == 2
    assert run.seconds < WRONG_CREDENTIALS_BOUND_SECONDS
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: cannot connect to Kafka at ") and "(SASL_PLAINTEXT): _AUTHENTICATION" in line
    assert "check the SASL username and password" in line


def test_a_principal_that_may_not_manage_acls_is_told_so(registry: Registry, broker: BrokerInfo) -> None:
    run = registry.apply(*DEV, "--sasl-username", "mallory", "--sasl-password", broker.users["mallory"])
    assert run.code == 2
    (line,) = run.stderr.strip().splitlines()
    assert "may not manage ACLs (CLUSTER_AUTHORIZATION_FAILED)" in line
