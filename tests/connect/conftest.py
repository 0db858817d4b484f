"""Fixtures of the connector tests: a real PostgreSQL per session, fresh topics, connector processes.

PostgreSQL comes from `scripts/postgres` (Debian's server, a data directory under the session's
temporary folder), unless CONNECT_POSTGRES_DSN points at one already. Each test binds its own
topics in a small contracts module written to its temporary folder (CONNECT_CONTRACTS), so tests
never read each other's records.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import psycopg
import pytest
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SCRIPT = ROOT / "scripts" / "postgres"
CONNECT = str(Path(sys.executable).parent / "contracts-connect")


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    existing = os.environ.get("CONNECT_POSTGRES_DSN")
    if existing:
        yield existing
        return
    directory = tmp_path_factory.mktemp("postgres")
    started = subprocess.run(
        [str(POSTGRES_SCRIPT), "start", "--dir", str(directory)], capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        pytest.fail(f"scripts/postgres start failed:\n{started.stderr}")
    values = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield values["CONNECT_POSTGRES_DSN"]
    finally:
        subprocess.run([str(POSTGRES_SCRIPT), "stop", "--dir", str(directory)], capture_output=True, check=False)


@pytest.fixture
def db(postgres_dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        yield conn


@dataclass
class Bindings:
    """Fresh topics for one test, bound in a contracts module the connector imports."""

    bootstrap: str
    directory: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    module: str = ""

    def name(self, suffix: str) -> str:
        return f"{self.prefix}.{suffix}"

    def bind(self, topics: dict[str, tuple[str, str, str | None]], partitions: int = 3) -> str:
        """topics: variable -> (suffix, 'pkg.module:Message', key field); creates them and their .dlq."""
        lines = ["from contracts_runtime import Topic"]
        for variable, (suffix, message, key) in topics.items():
            module, _, cls = message.partition(":")
            lines.append(f"from {module} import {cls}")
            lines.append(f"{variable} = Topic({self.name(suffix)!r}, {cls}, key_field={key!r})")
        self.module = f"{self.prefix}_topics"
        (self.directory / f"{self.module}.py").write_text("\n".join(lines) + "\n")
        names = [self.name(suffix) for suffix, _, _ in topics.values()]
        create_topics(self.bootstrap, [n for name in names for n in (name, name + ".dlq")], partitions)
        return self.module


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    for future in futures.values():
        future.result(30)


@pytest.fixture
def bindings(kafka_bootstrap: str, tmp_path: Path) -> Bindings:
    return Bindings(kafka_bootstrap, tmp_path)


@dataclass
class Connectors:
    """contracts-connect processes of one test; all are killed at the end."""

    bootstrap: str
    dsn: str
    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, bindings: Bindings, **variables: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("CONNECT_", "KAFKA_", "PG"))}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            CONNECT_POSTGRES_DSN=self.dsn,
            CONNECT_CONTRACTS=bindings.module,
            PYTHONPATH=os.pathsep.join([str(bindings.directory), env.get("PYTHONPATH", "")]),
        )
        env.update(variables)
        return env

    def start(self, env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{log_name}.log").open("ab")
        process = subprocess.Popen([CONNECT], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def run(self, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CONNECT, *arguments], env=env, capture_output=True, text=True, timeout=60, check=False)

    def log(self, log_name: str) -> str:
        path = self.directory / f"{log_name}.log"
        return path.read_text() if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def connectors(kafka_bootstrap: str, postgres_dsn: str, tmp_path: Path) -> Iterator[Connectors]:
    running = Connectors(kafka_bootstrap, postgres_dsn, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, on_timeout: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{on_timeout()}")
        time.sleep(0.2)


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = KafkaConsumer({"bootstrap.servers": bootstrap, "group.id": "end-offsets"})
    try:
        return {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
            for partition in range(partitions)
        }
    finally:
        consumer.close()


def read_all(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 60, committed_only: bool = True
) -> list[tuple[bytes | None, bytes | None, dict[str, bytes]]]:
    """Every record of `topic` (key, value, headers), read until `expect` arrived and 2 s passed quietly."""
    consumer = KafkaConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false",
            "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        }
    )
    consumer.subscribe([topic])
    records: list[tuple[bytes | None, bytes | None, dict[str, bytes]]] = []
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(1000, 0.5)
            got = [message for message in batch if message.error() is None]
            if got:
                quiet_since = time.monotonic()
            for message in got:
                pairs = cast(list[tuple[str, object]], message.headers() or [])
                headers = {name: value for name, value in pairs if isinstance(value, bytes)}
                key, value = message.key(), message.value()
                records.append(
                    (key if isinstance(key, bytes) else None, value if isinstance(value, bytes) else None, headers)
                )
            if len(records) >= expect and time.monotonic() - quiet_since > 2:
                break
    finally:
        consumer.close()
    return records


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets on `topic` (partition -> offset), none when it never committed."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = [ConsumerGroupTopicPartitions(group)]
    deadline = time.monotonic() + 30
    while True:
        try:
            result = admin.list_consumer_group_offsets(request)[group].result(10)
            break
        except KafkaException:  # the coordinator is still loading: ask again
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return {tp.partition: tp.offset for tp in result.topic_partitions or [] if tp.topic == topic and tp.offset >= 0}
