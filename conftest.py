"""Fixtures shared by every test tree: the real Kafka broker.

Tests that talk to Kafka take the `kafka_bootstrap` fixture and carry the
`kafka` marker. When KAFKA_BOOTSTRAP_SERVERS is set the suite uses that cluster
(one the project did not start); otherwise it starts a local broker once per
session with scripts/kafka and stops it at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
