"""End to end: Python, Go and Rust interoperate on a real broker through the generated bindings.

Issue 4, "Done means": Python produces and Go and Rust consume, every other direction too,
field-equal; wrong-type and garbage records land in the dead-letter topic in each
language while the following good records are processed; a batch consumer and a per-record
consumer see the same records; the same keyed message lands on the same partition whichever
language wrote it.

The Go and Rust sides are two small programs, tests/e2e/go and tests/e2e/rust (README there),
built once per session in parallel and run as subprocesses. All three sides build message `i`
of each bound type the same way (`audit_event`, `email_message`, `preference_changed` below;
messages.go and messages.rs), so every reader can say what the writer sent.

Topics: the generated constants carry fixed names (audit.events.v1, ...), and other test files
may use those names on the same broker. Every runtime can use a binding on another name
without losing its type, key or settings (Python: a `Topic` from the constant's fields; Go:
copy the `contracts.Topic` struct and set `Name`; Rust: `Topic::new` with the constant's type
name and settings and a key function that calls the constant's `key()`), so each test creates
fresh topics `<binding name>.e2e-<random>` and `.dlq` with the AdminClient (the broker does not
auto-create topics), and the programs take that name: a TOPIC argument that starts with a
binding's name selects that binding. Nothing is shared between tests, so no consumer group or
offset bookkeeping is needed, and every assertion can count exact records.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka import Producer as KafkaProducer
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec  # type: ignore[attr-defined]
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from google.protobuf.wrappers_pb2 import StringValue
from prometheus_client import CollectorRegistry

from tests.programs import build_go_and_rust

ROOT = Path(__file__).resolve().parents[1]
E2E_DIR = ROOT / "tests" / "e2e"
# The generated package is not installed in the development venv.
if str(ROOT / "generated" / "python") not in sys.path:
    sys.path.insert(0, str(ROOT / "generated" / "python"))

from contracts_runtime import Consumer, EncodedRecord, Producer, Record, Topic, client_config  # noqa: E402
from registry_contracts.audit.v1.audit_pb2 import AuditEvent  # noqa: E402
from registry_contracts.common.v1.common_pb2 import (  # noqa: E402
    ACTOR_KIND_SERVICE,
    ACTOR_KIND_SYSTEM,
    ACTOR_KIND_USER,
    CHANNEL_EMAIL,
    CHANNEL_SMS,
    Actor,
    EmailAddress,
)
from registry_contracts.email.v1.email_pb2 import EmailMessage  # noqa: E402
from registry_contracts.preferences.v1.preferences_pb2 import (  # noqa: E402
    ChannelPreference,
    PreferenceChanged,
    QuietHours,
)
from registry_contracts.topics import (  # noqa: E402
    AUDIT_EVENTS_V1,
    EMAIL_DISPATCH_V1,
    PREFERENCES_CHANGED_V1,
)

LANGUAGES = ("python", "go", "rust")
# Each program's ce_source, so a reader can tell who wrote a record.
SOURCES = {"python": "//e2e-python", "go": "//e2e-go", "rust": "//e2e-rust"}
RECORDS = 8  # per direction and binding
PROGRAM_TIMEOUT = 60.0  # seconds a program may run (E2E_TIMEOUT_SECONDS), plus a margin for the kill
BUILD_TIMEOUT = 900.0


# --- messages built from an index: the same in messages.go and messages.rs ---------------

BASE_SECONDS = 1_795_567_700  # 2026-11-25T00:48:20Z


def audit_zone(i: int) -> str:
    """The key of audit event i: some keys are not ASCII, some are empty (an empty key, not none)."""
    return "" if i % 7 == 6 else f"zöne-{i}" if i % 5 == 4 else f"zone-{i}"


def audit_event(i: int) -> AuditEvent:
    details = Struct()
    details.update({"index": i, "half": i / 2, "tags": ["e2e", i % 3 == 0], "none": None})
    event = AuditEvent(
        event_id=f"audit-{i}",
        zone_id=audit_zone(i),
        actor=Actor(
            kind=ACTOR_KIND_USER if i % 2 == 0 else ACTOR_KIND_SERVICE,
            id=f"actor-{i}",
            display_name=f"Actor №{i}",
            ip_address=f"10.0.0.{i % 256}",
        ),
        occurred_at=Timestamp(seconds=BASE_SECONDS + i, nanos=(i * 1_000_003) % 1_000_000_000),
        labels={"index": str(i), "parity": "even" if i % 2 == 0 else "odd"},
        details=details,
    )
    if i % 2 == 0:
        event.zone_deleted.CopyFrom(
            AuditEvent.ZoneDeleted(zone_name=f"z{i}.example.com", soft=i % 4 == 0, record_count=i * 1000)
        )
    else:
        event.setting_changed.CopyFrom(AuditEvent.SettingChanged(setting="ttl", old_value=str(i), new_value=str(i + 1)))
    return event


def email_message(i: int) -> EmailMessage:
    message = EmailMessage(
        message_id=f"msg-{i}",
        template_id="welcome",
        template_version=i + 1,
        to=[EmailAddress(address=f"user{i}@example.com", name=f"User {i}")],
        metadata={"index": str(i)},
        priority=i % 3 + 1,  # type: ignore[arg-type]  # LOW, NORMAL, HIGH
        send_after=Timestamp(seconds=BASE_SECONDS + 60 * i),
        expires_in=Duration(seconds=3600 * (i + 1), nanos=i),
        attachments={
            f"note-{i}.txt": EmailMessage.Attachment(
                filename=f"note-{i}.txt", content_type="text/plain", content=bytes([i % 256, 0, 255])
            )
        },
        limits=EmailMessage.Limits(
            max_bytes=-i * 1000,
            quota_left=2**63 + i,
            tz_offset_minutes=-60 * i,
            balance=-(2**40) - i,
            shard=i,
            tenant=2**64 - 1 - i,
            delta=-i,
            big_delta=-(2**50) - i,
            spam_score=i / 4,
            reputation=0.5 + i / 8,
            retries=i,
        ),
    )
    if i % 2 == 1:
        message.cc.append(EmailAddress(address="audit@example.com"))
    else:
        message.reply_to.CopyFrom(StringValue(value=f"reply-{i}@example.com"))
    return message


def preference_changed(i: int) -> PreferenceChanged:
    return PreferenceChanged(
        user_id=f"user-{i}",
        changed_by=Actor(kind=ACTOR_KIND_SYSTEM, id="svc-accounts"),
        changed_at=Timestamp(seconds=BASE_SECONDS + i, nanos=500_000_000),
        channels=[
            ChannelPreference(channel=CHANNEL_EMAIL, opted_in=True),
            ChannelPreference(channel=CHANNEL_SMS, opted_in=i % 2 == 0),
        ],
        subscriptions=["news", f"tips-{i}"],
        locale="de-CH",
        quiet_hours=QuietHours(start_minute=1320, end_minute=420, time_zone="Europe/Zurich"),
    )


@dataclass(frozen=True)
class Binding:
    topic: Topic[Any]
    build: Callable[[int], Message]
    id_field: str  # the field that names message i (its key too)


BINDINGS = {
    "audit": Binding(AUDIT_EVENTS_V1, audit_event, "event_id"),
    "email": Binding(EMAIL_DISPATCH_V1, email_message, "message_id"),
    "preferences": Binding(PREFERENCES_CHANGED_V1, preference_changed, "user_id"),
}


# --- Kafka's murmur2 partitioner (Java client: Utils.murmur2, toPositive, % partitions) ---


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 as an unsigned 32-bit value (the Java client's int, masked)."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    length = len(data)
    h = 0x9747B28C ^ length
    for offset in range(0, length - length % 4, 4):
        k = int.from_bytes(data[offset : offset + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[length - length % 4 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def murmur2_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


# --- what a consumer saw, whichever language ---------------------------------------------


@dataclass(frozen=True)
class Received:
    reader: str  # e.g. "go", "rust-batch"
    partition: int
    offset: int
    key: str | None
    headers: Mapping[str, str]
    message: Message
    batch: int | None = None
    # ce_time as the reader's runtime parsed it, printed in ce_time's format; None where the
    # runtime does not parse it (Rust)
    parsed_time: str | None = None


@dataclass(frozen=True)
class Sent:
    index: int
    partition: int
    offset: int
    key: str | None
    ce_id: str | None  # None where the producer does not report it (Rust)


def received_from_program(reader: str, binding: Binding, line: dict[str, Any]) -> Received:
    cls = type(binding.build(0))
    if "message" in line:  # Go: canonical protobuf JSON
        message = json_format.ParseDict(line["message"], cls())
    else:  # Rust: prost's encoding of what it decoded, and the id field it read
        message = cls.FromString(bytes.fromhex(line["value"]))
        assert line["id"] == getattr(message, binding.id_field), f"{reader}: typed id field"
    return Received(
        reader,
        line["partition"],
        line["offset"],
        line["key"],
        line["headers"],
        message,
        line.get("batch"),
        line.get("time"),
    )


def received_from_python(reader: str, record: Record[Any], batch: int | None = None) -> Received:
    headers = {name: (value or b"").decode() for name, value in record.headers}
    key = None if record.key is None else record.key.decode()
    parsed_time = None
    if record.ce_time is not None:
        utc = record.ce_time.astimezone(UTC)
        parsed_time = f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"
    return Received(reader, record.partition, record.offset, key, headers, record.message, batch, parsed_time)


# --- topics ---------------------------------------------------------------------------------


class Topics:
    """Creates fresh topics for the tests, and deletes them at the end of the session."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AdminClient({**client_config(bootstrap_servers=bootstrap)})
        self.created: list[str] = []

    def fresh(self, binding: Binding, partitions: int | None = None) -> Topic[Any]:
        """Creates `<binding name>.e2e-<random>` and its `.dlq`; returns the binding on that topic."""
        generated = binding.topic
        name = f"{generated.name}.e2e-{uuid.uuid4().hex[:12]}"
        count = partitions or generated.settings.partitions or 1
        policy = generated.settings.cleanup_policy
        # The dead-letter topic has one partition, so its records read back in the order written.
        new_topics = [
            NewTopic(name, count, 1, config={"cleanup.policy": policy} if policy else {}),
            NewTopic(name + ".dlq", 1, 1),
        ]
        for future in self.admin.create_topics(new_topics, operation_timeout=30).values():
            future.result(timeout=30)
        self.created.extend(topic.topic for topic in new_topics)
        wait_until_served(self.admin, {name: count, name + ".dlq": 1})
        return Topic(
            name, generated.message_type, generated.key_field, generated.settings, type_name=generated.type_name
        )

    def delete_created(self) -> None:
        if self.created:  # leave an existing cluster as it was
            for future in self.admin.delete_topics(self.created, operation_timeout=30).values():
                with contextlib.suppress(KafkaException):
                    future.result(timeout=30)


@pytest.fixture(scope="session")
def topics(kafka_bootstrap: str) -> Iterator[Topics]:
    created = Topics(kafka_bootstrap)
    yield created
    created.delete_created()


def wait_until_served(admin: AdminClient, partitions: Mapping[str, int], timeout: float = 30.0) -> None:
    """Waits until the metadata names a leader for every partition and that leader answers
    ListOffsets for it.

    Metadata names a leader a little before that broker has the partition: a produce in
    between gets NOT_LEADER_OR_FOLLOWER, and franz-go then waits for its next metadata refresh
    (5 s), which would make the Go runs slow at random. list_topics(topic=...) comes first
    because it refreshes the AdminClient's metadata cache, which list_offsets only reads.
    """
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    wanted = {TopicPartition(name, p): latest for name, count in partitions.items() for p in range(count)}
    deadline = time.monotonic() + timeout
    while True:
        try:
            for name, count in partitions.items():
                topic = admin.list_topics(topic=name, timeout=10).topics[name]
                leaders = [p.leader for p in topic.partitions.values()]
                if topic.error is not None or len(leaders) != count or min(leaders) < 0:
                    raise KafkaException(topic.error or f"{name}: partitions without a leader")
            for future in admin.list_offsets(wanted, request_timeout=10).values():
                future.result()
            return
        except KafkaException as error:
            if time.monotonic() > deadline:
                pytest.fail(f"topics {sorted(partitions)} not served within {timeout}s: {error}")
            time.sleep(0.02)


def unique_group(what: str) -> str:
    return f"e2e-{what}-{uuid.uuid4().hex[:8]}"


# --- the Go and Rust programs ----------------------------------------------------------------


@pytest.fixture(scope="session")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Builds tests/e2e/go and tests/e2e/rust side by side; returns their binaries."""
    out = tmp_path_factory.mktemp("e2e-programs")
    return build_go_and_rust(E2E_DIR, out, "e2e-go", "e2e", "the end-to-end tests", BUILD_TIMEOUT)


class Run:
    """One program run in the background; `lines()` waits for it and parses its JSON lines."""

    def __init__(self, binary: Path, arguments: Sequence[str], bootstrap: str, workdir: Path) -> None:
        self.description = f"{binary.name} {' '.join(arguments)}"
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "E2E_TIMEOUT_SECONDS": str(PROGRAM_TIMEOUT)}
        # Files, not pipes: several programs run at once and none may block on a full pipe.
        stem = workdir / uuid.uuid4().hex[:8]
        self._stdout, self._stderr = stem.with_suffix(".out"), stem.with_suffix(".err")
        with self._stdout.open("wb") as stdout, self._stderr.open("wb") as stderr:
            self._process = subprocess.Popen([str(binary), *arguments], stdout=stdout, stderr=stderr, env=env)

    def kill(self) -> None:
        """Stops the program if it still runs (a test failed before waiting for it)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def lines(self) -> list[dict[str, Any]]:
        try:
            self._process.wait(timeout=PROGRAM_TIMEOUT + 15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            pytest.fail(f"{self.description} did not finish:\n{self._stderr.read_text()}")
        if self._process.returncode != 0:
            pytest.fail(f"{self.description} exited {self._process.returncode}:\n{self._stderr.read_text()}")
        return [json.loads(line) for line in self._stdout.read_text().splitlines() if line.strip()]


@dataclass
class Env:
    """What a test needs to run each language's producer and consumers."""

    bootstrap: str
    topics: Topics
    programs: dict[str, Path]
    workdir: Path

    def start(self, language: str, *arguments: str) -> Run:
        return Run(self.programs[language], arguments, self.bootstrap, self.workdir)

    # Producing --------------------------------------------------------------------------

    def produce(self, language: str, topic: Topic[Any], binding: Binding, count: int) -> list[Sent]:
        if language != "python":
            lines = self.start(language, "produce", topic.name, str(count)).lines()
            return [Sent(x["index"], x["partition"], x["offset"], x["key"], x["ce_id"]) for x in lines]
        with Producer(
            source=SOURCES["python"], registry=CollectorRegistry(), bootstrap_servers=self.bootstrap
        ) as producer:
            futures = [producer.send(topic, binding.build(i)) for i in range(count)]
            deliveries = [future.result(timeout=30) for future in futures]
        return [
            Sent(i, d.partition, d.offset, (topic.key(binding.build(i)) or b"").decode(), d.event_id)
            for i, d in enumerate(deliveries)
        ]

    # Consuming --------------------------------------------------------------------------

    def consume_python(self, topic: Topic[Any], group: str, count: int, *, batch: bool) -> list[Received]:
        reader = "python-batch" if batch else "python"
        received: list[Received] = []

        def handle(record: Record[Any]) -> None:
            received.append(received_from_python(reader, record))

        def handle_batch(records: list[Record[Any]]) -> None:
            number = len({r.batch for r in received})
            received.extend(received_from_python(reader, record, number) for record in records)

        with Consumer(group_id=group, registry=CollectorRegistry(), bootstrap_servers=self.bootstrap) as consumer:
            if batch:
                consumer.subscribe_batch(topic, handle_batch, max_messages=100, max_wait=0.2)
            else:
                consumer.subscribe(topic, handle)
            processed = consumer.run(stop_after=count, timeout=PROGRAM_TIMEOUT)
        assert processed == count, f"{reader} consumer processed {processed} of {count} records"
        return received

    def consume(self, readers: Sequence[str], topic: Topic[Any], binding: Binding, count: int) -> Consumed:
        """Runs the consumers in `readers` ("go", "rust-batch", "python", ...) at once, each in a
        group of its own, until each has read `count` records."""
        groups = {reader: unique_group(reader) for reader in readers}
        runs: dict[str, Run] = {}
        futures: dict[str, Future[list[Received]]] = {}
        received: dict[str, list[Received]] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(readers))) as pool:
            try:
                for reader in readers:
                    language, _, mode = reader.partition("-")
                    if language == "python":
                        futures[reader] = pool.submit(
                            self.consume_python, topic, groups[reader], count, batch=mode == "batch"
                        )
                    else:
                        command = "consume-batch" if mode == "batch" else "consume"
                        runs[reader] = self.start(language, command, topic.name, groups[reader], str(count))
                for reader, run in runs.items():
                    received[reader] = [received_from_program(reader, binding, line) for line in run.lines()]
                for reader, future in futures.items():
                    received[reader] = future.result(timeout=PROGRAM_TIMEOUT + 15)
            finally:
                for run in runs.values():
                    run.kill()
        return Consumed(received, groups)


@dataclass(frozen=True)
class Consumed:
    received: dict[str, list[Received]]  # reader -> what its handler got, in order
    groups: dict[str, str]  # reader -> its consumer group


@pytest.fixture
def env(kafka_bootstrap: str, topics: Topics, programs: dict[str, Path], tmp_path: Path) -> Env:
    return Env(kafka_bootstrap, topics, programs, tmp_path)


# --- checks ---------------------------------------------------------------------------------

CE_ID = re.compile(r"[0-9a-f]{32}-\d+")
CE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def check_received(
    received: Sequence[Received], sent: Sequence[Sent], topic: Topic[Any], binding: Binding, writer: str
) -> None:
    """`received` is exactly `sent`: the same records at the same places, field-equal messages,
    the writer's envelope, and each partition in order."""
    reader = received[0].reader if received else "?"
    where = f"{writer} -> {reader}"
    by_place = {(r.partition, r.offset): r for r in received}
    assert len(by_place) == len(received), f"{where}: a record was handled twice"
    assert sorted(by_place) == sorted((s.partition, s.offset) for s in sent), f"{where}: other records"
    for s in sent:
        record = by_place[(s.partition, s.offset)]
        expected = binding.build(s.index)
        assert record.message == expected, (
            f"{where}: message {s.index} differs:\nexpected {json_format.MessageToJson(expected, indent=None)}\n"
            f"received {json_format.MessageToJson(record.message, indent=None)}"
        )
        assert record.key == s.key == (topic.key(expected) or b"").decode(), f"{where}: key of message {s.index}"
        headers = record.headers
        assert headers.get("ce_specversion") == "1.0", f"{where}: {headers}"
        assert headers.get("ce_type") == topic.type_name, f"{where}: {headers}"
        assert headers.get("ce_source") == SOURCES[writer], f"{where}: {headers}"
        assert headers.get("content-type") == "application/protobuf", f"{where}: {headers}"
        assert CE_ID.fullmatch(headers.get("ce_id", "")), f"{where}: ce_id {headers.get('ce_id')!r}"
        assert CE_TIME.fullmatch(headers.get("ce_time", "")), f"{where}: ce_time {headers.get('ce_time')!r}"
        if not record.reader.startswith("rust"):
            assert record.parsed_time == headers["ce_time"], f"{where}: the reader's ce_time"
        if s.ce_id is not None:
            assert headers["ce_id"] == s.ce_id, f"{where}: ce_id of message {s.index}"
    for partition in {r.partition for r in received}:
        offsets = [r.offset for r in received if r.partition == partition]
        assert offsets == sorted(offsets), f"{where}: partition {partition} out of order: {offsets}"


# --- the tests ------------------------------------------------------------------------------


def test_murmur2_matches_the_java_client() -> None:
    # Apache Kafka's UtilsTest.testMurmur2 (clients/src/test/java/.../utils/UtilsTest.java).
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    assert {data: murmur2(data) for data in vectors} == {data: h & 0xFFFFFFFF for data, h in vectors.items()}


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.parametrize("binding_name", list(BINDINGS))
@pytest.mark.parametrize("writer", LANGUAGES)
def test_every_other_language_reads_what_one_wrote(env: Env, writer: str, binding_name: str) -> None:
    """`writer` produces RECORDS messages; the other two languages consume them, each with a
    per-record and a batch consumer, and every one of them sees exactly what was sent."""
    binding = BINDINGS[binding_name]
    topic = env.topics.fresh(binding)
    sent = env.produce(writer, topic, binding, RECORDS)
    assert [s.index for s in sent] == list(range(RECORDS))

    readers = [f"{language}{mode}" for language in LANGUAGES if language != writer for mode in ("", "-batch")]
    results = env.consume(readers, topic, binding, RECORDS).received
    for reader in readers:
        check_received(results[reader], sent, topic, binding, writer)
    for reader in readers:
        if reader.endswith("-batch"):
            assert all(r.batch is not None for r in results[reader]), f"{reader}: batch numbers"
            # The records were all there before the consumer started: they come in few batches.
            assert len({r.batch for r in results[reader]}) < RECORDS, f"{reader} handled one record per batch"


DLQ_HEADERS = (  # docs/runtime.md, "Dead-letter headers"
    "contracts_dlq_reason",
    "contracts_dlq_error",
    "contracts_dlq_topic",
    "contracts_dlq_partition",
    "contracts_dlq_offset",
    "contracts_dlq_group",
    "contracts_dlq_attempts",
    "contracts_dlq_first_failure_time",
    "contracts_dlq_last_failure_time",
)
RFC3339_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def bad_records(topic: Topic[Any]) -> list[tuple[str, EncodedRecord]]:
    """Records no consumer of `topic` may hand to its handler, with the reason each must give."""
    good = topic.encode(audit_event(6))  # an empty key: a dead letter must keep it empty, not null
    assert good.key == b""
    return [
        ("wrong-type", EMAIL_DISPATCH_V1.encode(email_message(0))),  # a valid record of another binding
        ("wrong-type", good._replace(headers=[h for h in good.headers if h[0] != "ce_type"])),  # no ce_type
        # Field 1 (event_id) says 16 bytes follow, 8 do: no protobuf parser accepts it.
        ("decode", good._replace(value=b"\x0a\x10garbage!")),
        # A proto3 string that is not UTF-8: every language's parser must refuse it.
        ("decode", good._replace(value=b"\x0a\x02\xff\xfe")),
    ]


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.parametrize("reader", ["python", "python-batch", "go", "go-batch", "rust", "rust-batch"])
def test_dead_letters_then_goes_on(env: Env, reader: str) -> None:
    """Records of another type or without one, and undecodable ones, then good records, on one
    partition: the consumer dead-letters the bad ones into `<topic>.dlq` with the
    contracts_dlq_* headers and the original key, value and headers, handles the good ones,
    and commits all of them."""
    binding = BINDINGS["audit"]
    topic = env.topics.fresh(binding, partitions=1)
    bad = bad_records(topic)
    raw = KafkaProducer(client_config(bootstrap_servers=env.bootstrap))
    for _, record in bad:
        raw_headers: list[tuple[str, str | bytes | None]] = list(record.headers)
        raw.produce(topic.name, key=record.key, value=record.value, headers=raw_headers)
    assert raw.flush(30) == 0
    sent = env.produce("python", topic, binding, 3)
    total = len(bad) + len(sent)
    assert [s.offset for s in sent] == list(range(len(bad), total))

    outcome = env.consume([reader], topic, binding, total)
    check_received(outcome.received[reader], sent, topic, binding, "python")
    group = outcome.groups[reader]

    letters = read_all(env.bootstrap, topic.dlq_name, len(bad))
    assert len(letters) == len(bad), f"{reader}: {len(letters)} dead letters"
    for offset, ((reason, original), (key, value, headers)) in enumerate(zip(bad, letters, strict=True)):
        where = f"{reader}: the {reason} letter of offset {offset}"
        assert (key, value) == (original.key, original.value), f"{where}: key and value"
        own = [(name, value) for name, value in headers if not name.startswith("contracts_dlq_")]
        assert own == original.headers, f"{where}: the original headers"
        names = sorted(name for name, _ in headers if name.startswith("contracts_dlq_"))
        assert names == sorted(DLQ_HEADERS), f"{where}: {names}"
        dlq = {name: value.decode() for name, value in headers if name.startswith("contracts_dlq_")}
        error = dlq.pop("contracts_dlq_error")
        assert error and "\n" not in error, f"{where}: contracts_dlq_error {error!r}"
        first, last = dlq.pop("contracts_dlq_first_failure_time"), dlq.pop("contracts_dlq_last_failure_time")
        assert RFC3339_MILLIS.match(first) and RFC3339_MILLIS.match(last) and first <= last, f"{where}: {first} {last}"
        assert dlq == {
            "contracts_dlq_reason": reason,
            "contracts_dlq_topic": topic.name,
            "contracts_dlq_partition": "0",
            "contracts_dlq_offset": str(offset),
            "contracts_dlq_group": group,
            "contracts_dlq_attempts": "0",  # never handed to the handler
        }, where
    assert committed(env.bootstrap, group, topic.name) == total, f"{reader}: committed offset"


def read_all(bootstrap: str, topic: str, count: int) -> list[tuple[bytes | None, bytes | None, list[Any]]]:
    """The first `count` records of partition 0 of `topic` (key, value, headers)."""
    consumer = KafkaConsumer(
        client_config(
            bootstrap_servers=bootstrap, config={"group.id": unique_group("reader"), "enable.auto.commit": False}
        )
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        records: list[tuple[bytes | None, bytes | None, list[Any]]] = []
        deadline = time.monotonic() + 15
        while len(records) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                records.append((message.key(), message.value(), list(message.headers() or [])))
        return records
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str) -> int:
    consumer = KafkaConsumer(client_config(bootstrap_servers=bootstrap, config={"group.id": group}))
    try:
        (partition,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return int(partition.offset)
    finally:
        consumer.close()


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.parametrize(
    "writer",
    ["go", "rust", "python"],
)
def test_keys_land_on_the_java_clients_partition(env: Env, writer: str) -> None:
    """Message i, whichever language wrote it, lands on murmur2(key) % partitions, as with the
    Java client, so one key's records stay in order across producers of any language."""
    binding = BINDINGS["audit"]
    topic = env.topics.fresh(binding, partitions=12)
    sent = env.produce(writer, topic, binding, 24)
    placed = [(s.index, s.key, s.partition) for s in sent]
    assert placed == [(s.index, s.key, murmur2_partition((s.key or "").encode(), 12)) for s in sent]
