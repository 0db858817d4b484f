"""What the conformance scenarios use to drive a language's driver and to look at the result from
outside: records in the topic and its `.dlq` (a plain confluent-kafka consumer), committed offsets
(AdminClient), the driver's JSON lines, and `/metrics` parsed by prometheus_client's parser."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka import Producer as KafkaProducer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from contracts_runtime import EncodedRecord, Topic
from prometheus_client.parser import text_string_to_metric_families
from registry_contracts.audit.v1.audit_pb2 import AuditEvent
from registry_contracts.topics import AUDIT_EVENTS_V1

Event = dict[str, Any]
Headers = list[tuple[str, bytes]]

ROOT = Path(__file__).resolve().parents[2]
# Keeps librdkafka's own lines (a refused port, retried) out of the test output.
_QUIET = type("Quiet", (), {"log": lambda self, *args: None})()


@dataclass(frozen=True)
class Letter:
    """A record as read back: key, value, headers in order."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    def header(self, name: str) -> bytes | None:
        values = [value for key, value in self.headers if key == name]
        assert len(values) <= 1, f"header {name} appears {len(values)} times"
        return values[0] if values else None

    def dlq_headers(self) -> dict[str, bytes]:
        return {name: value for name, value in self.headers if name.startswith("contracts_dlq_")}


@dataclass
class Run:
    """One driver process: its JSON events as they come, its stderr, its exit."""

    language: str
    process: subprocess.Popen[str]
    started_at: float = field(default_factory=time.monotonic)
    events: list[Event] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsable", "line": line.rstrip("\n")}
            event["_at"] = time.monotonic()
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def of(self, kind: str) -> list[Event]:
        with self._changed:
            return [event for event in self.events if event.get("event") == kind]

    def handled(self, ok: bool | None = None) -> list[Event]:
        return [event for event in self.of("handled") if ok is None or event["ok"] is ok]

    def wait_for(self, condition: Callable[[Run], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not condition(self)):
                    if condition(self):
                        return
                    raise AssertionError(f"{self.language} driver: {what} not seen within {timeout:g}s\n{self.tail()}")
                self._changed.wait(min(remaining, 0.2))

    def wait_started(self, timeout: float = 30) -> None:
        self.wait_for(lambda run: bool(run.of("started") or run.of("error")), timeout, "started")
        errors = self.of("error")
        assert not errors, f"{self.language} driver failed to start: {errors}\n{self.tail()}"

    def wait_exit(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.language} driver did not exit within {timeout:g}s\n{self.tail()}") from None
        self.wait_for(lambda run: True, 1, "output")
        time.sleep(0.05)  # the reader threads drain the pipes
        return code

    def signal(self, number: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(number)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def tail(self) -> str:
        events = "\n".join(json.dumps({k: v for k, v in e.items() if k != "_at"}) for e in self.events[-15:])
        errors = "".join(self.stderr[-15:])
        return f"last events:\n{events}\nlast stderr lines:\n{errors}"


@dataclass
class Harness:
    """One scenario for one language: a fresh topic and group, the drivers, the observations."""

    language: str
    drivers: dict[str, list[str]]  # language -> command of its driver (every language available)
    bootstrap: str
    admin: AdminClient
    sasl: Callable[[], Any]  # the session's SASL broker (tests.kafka_broker.BrokerInfo), started on first use
    topic: str = ""
    group: str = ""
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.topic = self.topic or f"conformance.{self.language}.{suffix}"
        self.group = self.group or f"conformance-{self.language}-{suffix}"

    # --- topics and records ------------------------------------------------------------

    def create_topics(self, partitions: int = 1) -> None:
        topics = [NewTopic(self.topic, partitions, 1), NewTopic(self.dlq, 1, 1)]
        for future in self.admin.create_topics(topics, operation_timeout=10).values():
            future.result(timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            metadata = self.admin.list_topics(timeout=5).topics
            if all(name in metadata and metadata[name].error is None for name in (self.topic, self.dlq)):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.topic} did not appear")

    @property
    def dlq(self) -> str:
        return self.topic + ".dlq"

    @property
    def binding(self) -> Topic[AuditEvent]:
        return Topic(name=self.topic, message_type=AuditEvent, key_field="zone_id", type_name=AUDIT_EVENTS_V1.type_name)

    def encode(self, zone_id: str) -> EncodedRecord:
        return self.binding.encode(AuditEvent(event_id=f"event-{zone_id}", zone_id=zone_id), source="conformance")

    def write(self, *records: str | EncodedRecord) -> list[EncodedRecord]:
        """Writes envelope records (a zone_id) or prepared ones, in order, to partition 0."""
        encoded = [self.encode(record) if isinstance(record, str) else record for record in records]
        producer = KafkaProducer({"bootstrap.servers": self.bootstrap, "logger": _QUIET})
        for record in encoded:
            headers = cast(Any, record.headers)
            producer.produce(self.topic, record.value, record.key, partition=0, headers=headers)
        assert producer.flush(30) == 0
        return encoded

    def read(self, topic: str, count: int, timeout: float = 20, settle: float = 0.5) -> list[Letter]:
        """The first `count` records of `topic`, and whatever else arrives within `settle` seconds after."""
        reader = KafkaConsumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "logger": _QUIET,
            }
        )
        try:
            partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
            reader.assign([TopicPartition(topic, number, 0) for number in partitions])
            letters: list[Letter] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if len(letters) >= count:
                    deadline = min(deadline, time.monotonic() + settle)
                message = reader.poll(0.1)
                if message is None or message.error() is not None:
                    continue
                pairs = cast(Headers, message.headers() or [])
                letters.append(
                    Letter(message.partition() or 0, message.offset() or 0, message.key(), message.value(), pairs)
                )
            return letters
        finally:
            reader.close()

    def move_group(self, partitions: int = 1) -> None:
        """Continues with a new group that starts where this one committed.

        After a SIGKILL the dead member holds its partitions until its session times out (45 s by
        default); a restart in a group of its own with the same committed offsets reads exactly
        what a restart in the old group would, without that wait.
        """
        offsets = [TopicPartition(self.topic, number, offset) for number, offset in self.committed(partitions).items()]
        self.group = f"{self.group}-restarted"
        if offsets:
            request = ConsumerGroupTopicPartitions(self.group, offsets)
            self.admin.alter_consumer_group_offsets([request])[self.group].result(timeout=15)

    def committed(self, partitions: int = 1) -> dict[int, int]:
        """The group's committed offsets per partition (AdminClient); absent: never committed."""
        request = ConsumerGroupTopicPartitions(
            self.group, [TopicPartition(self.topic, number) for number in range(partitions)]
        )
        result = self.admin.list_consumer_group_offsets([request])[self.group].result(timeout=15)
        return {tp.partition: tp.offset for tp in result.topic_partitions if tp.offset >= 0}

    # --- drivers -----------------------------------------------------------------------

    def start(self, command: str = "consume", *, language: str = "", **settings: str | int) -> Run:
        """Starts a driver (this harness's language unless said) with CONFORMANCE_* settings
        (`attempts=3` becomes CONFORMANCE_ATTEMPTS=3) and `KAFKA_*` ones given in full."""
        language = language or self.language
        env = {key: value for key, value in os.environ.items() if not key.startswith(("KAFKA_", "CONFORMANCE_"))}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "CONFORMANCE_TOPIC": self.topic,
                "CONFORMANCE_GROUP": self.group,
                "CONFORMANCE_BASE_DELAY_MS": "10",
            }
        )
        for key, value in settings.items():
            env[key if key.startswith("KAFKA_") else f"CONFORMANCE_{key.upper()}"] = str(value)
        process = subprocess.Popen(
            [*self.drivers[language], command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        run = Run(language, process)
        self.runs.append(run)
        return run

    def consume_until_stopped(self, count: int, timeout: float = 60, **settings: str | int) -> Run:
        """A consumer run with STOP_AFTER=count: it must stop cleanly (exit 0, `stopped`)."""
        run = self.start("consume", stop_after=count, **cast(dict[str, Any], settings))
        code = run.wait_exit(timeout)
        assert code == 0, f"{self.language} consumer exited {code}\n{run.tail()}"
        assert run.of("stopped"), run.tail()
        return run

    def close(self) -> None:
        for run in self.runs:
            run.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def silent_address() -> Iterator[str]:
    """A port whose connections the kernel completes and nobody answers: neither up nor refused."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"127.0.0.1:{server.getsockname()[1]}"


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes, float]:
    """(status, body, seconds taken); status 0 when there was no answer within `timeout`."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.monotonic() - started
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0, b"", time.monotonic() - started


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, parsed by prometheus_client's text parser: (name, labels) -> value."""
    status, body, _ = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, f"/metrics answered {status}"
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = dict(sample.labels)
            if "le" in labels:  # "5" (Go) and "5.0" (Python) are the same bucket bound
                labels["le"] = repr(float(labels["le"]))
            samples[sample.name, frozenset(labels.items())] = sample.value
    return samples


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def stop(run: Run, timeout: float = 20) -> int:
    """SIGTERM, then the exit code."""
    run.signal(signal.SIGTERM)
    return run.wait_exit(timeout)
