"""Startup checks against a SASL broker: refused credentials and missing ACLs are clear errors, fast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import contracts_runtime
from contracts_runtime import ConfigError, ConnectionOptions, Consumer, Producer, Topic

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    kafka_broker = pytest.importorskip("tests.kafka_broker")
    info = kafka_broker.start_broker("sasl", tmp_path_factory.mktemp("kafka-sasl"))
    try:
        yield info
    finally:
        kafka_broker.stop_broker(info)


def sasl(info: Any, username: str, password: str) -> ConnectionOptions:
    # No sasl_mechanism: PLAIN is the default for the SASL_* protocols (docs/runtime.md).
    return {
        "bootstrap_servers": info.bootstrap_servers,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_username": username,
        "sasl_password": password,
    }


def test_wrong_password_fails_fast_with_a_clear_error(sasl_broker: Any) -> None:
    for make in (
        lambda: Producer(**sasl(sasl_broker, "alice", "wrong")),
        lambda: Consumer(group_id="g", **sasl(sasl_broker, "alice", "wrong")),
    ):
        started = time.monotonic()
        with pytest.raises(contracts_runtime.ConnectionError, match=r"authentication failed.*KAFKA_SASL_PASSWORD"):
            make()
        assert time.monotonic() - started < 3  # as soon as the broker says so, not the 10 s connect timeout


def test_topic_without_acls_is_a_clear_error(sasl_broker: Any, pb: ModuleType) -> None:
    orders: Topic[Any] = Topic(name="orders.acl.v1", message_type=pb.Order)
    with Producer(**sasl(sasl_broker, "admin", sasl_broker.users["admin"])) as admin:
        assert admin.settings["sasl.username"] == "admin"
    with pytest.raises(ConfigError, match=r"orders\.acl\.v1 \(.*\).*ACLs"):
        Producer(topics=[orders], **sasl(sasl_broker, "alice", sasl_broker.users["alice"]))
