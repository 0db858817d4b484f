"""Fixtures shared by every test tree: the real Kafka broker.

Tests that talk to Kafka take the `kafka_bootstrap` fixture and carry the
`kafka` marker. When KAFKA_BOOTSTRAP_SERVERS is set the suite uses that cluster
(one the project did not start); otherwise it starts a local broker once per
session with scripts/kafka and stops it at the end.

`kafka_sasl` (SASL/PLAIN with ACLs) and `kafka_ssl` (TLS with client certificates) are brokers
of their own, always started here, once per session and only when a test asks for one.
`unanswered_kafka_address` is an address that accepts TCP connections and never answers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.kafka_broker import BrokerInfo

ROOT = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        yield existing
        return
    from tests.kafka_broker import start_broker, stop_broker

    info = start_broker("plain", tmp_path_factory.mktemp("kafka-plain"))
    try:
        yield info.bootstrap_servers
    finally:
        stop_broker(info)


@pytest.fixture(scope="session")
def kafka_sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerInfo]:
    """A SASL/PLAIN broker with ACLs; `info.env()` connects as admin, `info.users` lists the others."""
    from tests.kafka_broker import start_broker, stop_broker

    info = start_broker("sasl", tmp_path_factory.mktemp("kafka-sasl"))
    try:
        yield info
    finally:
        stop_broker(info)


@pytest.fixture(scope="session")
def kafka_ssl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerInfo]:
    """A broker whose only client listener is TLS and requires a client certificate.

    `info.env()` is what `scripts/kafka start --ssl` printed; `info.tls.env(case)` gives the
    KAFKA_SSL_* variables of each case in tests.kafka_broker.TLS_CASES (wrong CA, no client
    certificate, ...).
    """
    from tests.kafka_broker import start_broker, stop_broker

    info = start_broker("ssl", tmp_path_factory.mktemp("kafka-ssl"))
    try:
        yield info
    finally:
        stop_broker(info)


@pytest.fixture(scope="session")
def unanswered_kafka_address() -> Iterator[str]:
    """`127.0.0.1:PORT` of a socket that listens but never accepts: the kernel completes the TCP
    handshake, and the client's first request is never answered, like a hung broker or a
    blackholed route. A client must give up at its own bound. The backlog is large so that the
    connections of a whole session never fill it (a full backlog drops SYNs: unanswered too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)
        host, port = listener.getsockname()
        yield f"{host}:{port}"
