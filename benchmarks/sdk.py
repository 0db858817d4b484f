"""Benchmark the Python message bus SDK (issue 4) against plain confluent-kafka, side by side.

Prints, in one run, against a real local broker (started here with scripts/kafka unless
KAFKA_BOOTSTRAP_SERVERS names one):

a. typed producer (`Producer.send(AUDIT_EVENTS_V1, event)` + flush) / raw confluent-kafka
   Producer with `SerializeToString()`, same settings (idempotence, acks=all, lz4, linger 5 ms)
   and a delivery callback that checks errors                                   target >= 0.9
b. batch consumer / per-record consumer, both through our Consumer, with a handler that
   costs a simulated downstream round trip per call; also both without that cost  target >= 3
c. typed encode+produce / confluent-kafka's ProtobufSerializer (mock:// schema registry)
   + produce                                                                     target >= 1.5
d. Topic.encode / bare SerializeToString (CPU only, no broker)                    target <= 1.3

Contenders alternate (their order rotates every round) and every figure is the median of
--rounds rounds, so that load on a shared machine hits each side alike. Next to each wall-clock
throughput the process CPU per record is shown (user + system of all threads, librdkafka's
included): load skews it much less than wall time.

    .venv/bin/python benchmarks/sdk.py [--records 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "generated" / "python"), str(ROOT / "runtime" / "python" / "src")]

from confluent_kafka import Consumer as KafkaConsumer  # noqa: E402
from confluent_kafka import KafkaError, Message  # noqa: E402
from confluent_kafka import Producer as KafkaProducer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402
from confluent_kafka.cimpl import NewTopic  # noqa: E402
from contracts_runtime import Consumer, Producer, Record, Topic  # noqa: E402
from contracts_runtime.producer import PRODUCER_DEFAULTS  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402
from registry_contracts.audit.v1.audit_pb2 import AuditEvent  # noqa: E402
from registry_contracts.common.v1.common_pb2 import Actor  # noqa: E402
from registry_contracts.topics import AUDIT_EVENTS_V1  # noqa: E402
from sdk_native import native_part  # noqa: E402

KAFKA_SCRIPT = ROOT / "scripts" / "kafka"
PARTITIONS = 6
DISTINCT_EVENTS = 1000  # cycled: building 200k protobuf objects would dominate the set-up time
# The per-call cost of the simulated downstream system in part b.
HANDLER_COST = 0.0005
BATCH_SIZE = 500


# --- the broker and its topics -------------------------------------------------------


@contextmanager
def broker() -> Iterator[tuple[str, bool]]:
    """(bootstrap servers, whether this script started the broker): KAFKA_BOOTSTRAP_SERVERS or a fresh one."""
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        yield existing, False
        return
    directory = tempfile.mkdtemp(prefix="bench-kafka-")
    started = subprocess.run(
        [str(KAFKA_SCRIPT), "start", "--dir", directory], capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        raise SystemExit(f"scripts/kafka start failed:\n{started.stderr}")
    values = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield values["KAFKA_BOOTSTRAP_SERVERS"], True
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop", "--dir", directory], capture_output=True, check=False)
        shutil.rmtree(directory, ignore_errors=True)


def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in names], operation_timeout=30
    )
    for name, future in futures.items():
        try:
            future.result(timeout=60)
        except Exception as error:
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise
            print(f"  (topic {name} exists already: reusing it)")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=10)
        if all(name in metadata.topics and metadata.topics[name].error is None for name in names):
            return
        time.sleep(0.1)
    raise SystemExit(f"topics {names} did not appear")


def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(names, operation_timeout=30).values():
        try:
            future.result(timeout=60)
        except Exception as error:
            print(f"  (could not delete a benchmark topic: {error})")


def audit_binding(fresh_broker: bool, run_id: str) -> Topic[Any]:
    """AUDIT_EVENTS_V1 itself on a broker of our own; on a shared cluster the same binding (type,
    key, type name) on a topic of this run, so that the real topic does not get benchmark records."""
    if fresh_broker:
        return AUDIT_EVENTS_V1
    return Topic(
        name=f"bench.{run_id}.{AUDIT_EVENTS_V1.name}",
        message_type=AUDIT_EVENTS_V1.message_type,
        key_field=AUDIT_EVENTS_V1.key_field,
        type_name=AUDIT_EVENTS_V1.type_name,
    )


# --- messages ------------------------------------------------------------------------


def make_events(count: int) -> list[Any]:
    """AuditEvents of about 150 bytes, each with its own zone (the key) and event id."""
    events = []
    for number in range(count):
        event = AuditEvent(
            event_id=str(uuid.UUID(int=number * 7919 + 1)),
            zone_id=f"zone-{number:06d}",
            actor=Actor(id=f"user-{number % 97}", display_name="Ada Lovelace", ip_address="192.0.2.10"),
            occurred_at=Timestamp(seconds=1_764_000_000 + number, nanos=123_000_000),
            labels={"request_id": f"req-{number:08d}", "user_agent": "curl/8.11.1"},
        )
        event.zone_deleted.zone_name = f"example-{number}.com"
        event.zone_deleted.record_count = number % 500
        events.append(event)
    return events


def cycle(events: list[Any], count: int) -> Iterator[Any]:
    for index in range(count):
        yield events[index % len(events)]


# --- measuring -----------------------------------------------------------------------


@dataclass
class Run:
    records: int
    wall: float  # seconds
    cpu: float  # process CPU seconds, every thread

    @property
    def rate(self) -> float:
        return self.records / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.records * 1e6


@dataclass
class Contender:
    name: str
    run: Callable[[], Run]
    runs: list[Run] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(run.rate for run in self.runs)

    @property
    def cpu_us(self) -> float:
        return statistics.median(run.cpu_us for run in self.runs)

    def line(self) -> str:
        rates = ", ".join(f"{run.rate / 1000:.1f}k" for run in self.runs)
        return f"    {self.name:<44} {self.rate:>10,.0f} rec/s  {self.cpu_us:6.1f} us CPU/rec   [{rates}]"


class Stopwatch:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self, records: int) -> Run:
        return Run(records, time.perf_counter() - self.wall, time.process_time() - self.cpu)


def alternate(contenders: list[Contender], rounds: int) -> None:
    """Run every contender once per round, rotating who goes first."""
    for round_number in range(rounds):
        shift = round_number % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            contender.runs.append(contender.run())


# --- a and c: producing --------------------------------------------------------------


class DeliveryCheck:
    """A fair raw client's delivery callback: counts acknowledgements, keeps the errors."""

    def __init__(self) -> None:
        self.delivered = 0
        self.errors: list[KafkaError] = []

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.delivered += 1
        else:
            self.errors.append(error)

    def verify(self, expected: int) -> None:
        if self.errors or self.delivered != expected:
            raise SystemExit(f"raw producer: {self.delivered} of {expected} delivered, errors {self.errors[:3]}")


def typed_produce(bootstrap: str, topic: Topic[Any], events: list[Any], count: int) -> Run:
    with Producer(bootstrap_servers=bootstrap, topics=[topic]) as producer:
        watch = Stopwatch()
        send = producer.send
        for event in cycle(events, count):
            send(topic, event)
        producer.flush()
        return watch.stop(count)


def raw_produce(
    bootstrap: str,
    topic: str,
    events: list[Any],
    count: int,
    serialize: Callable[[Any], bytes],
    headers: Callable[[], list[tuple[str, str | bytes | None]]] | None = None,
) -> Run:
    """The textbook confluent-kafka loop: produce with a delivery callback, poll(0), retry on BufferError."""
    producer = KafkaProducer({"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS})
    producer.list_topics(topic, timeout=10)
    check = DeliveryCheck()
    watch = Stopwatch()
    produce, poll = producer.produce, producer.poll
    for event in cycle(events, count):
        value = serialize(event)
        key = event.zone_id.encode()
        while True:
            try:
                produce(topic, value, key, on_delivery=check, headers=None if headers is None else headers())
                break
            except BufferError:
                poll(0.01)
        poll(0)
    producer.flush()
    run = watch.stop(count)
    check.verify(count)
    return run


def confluent_serializer(topic: str) -> Callable[[Any], bytes]:
    """confluent-kafka's own ProtobufSerializer over the offline mock schema registry."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    registry = SchemaRegistryClient.new_client({"url": "mock://bench"})
    serializer = ProtobufSerializer(AuditEvent, registry, {"use.deprecated.format": False})
    context = SerializationContext(topic, MessageField.VALUE)  # built once: the cheapest way to call it
    return lambda event: serializer(event, context)


def produce_part(bootstrap: str, topic: Topic[Any], events: list[Any], count: int, rounds: int) -> list[Contender]:
    serialize = confluent_serializer(topic.name)
    bare = lambda event: event.SerializeToString()  # noqa: E731
    typed = Contender("typed Producer.send + flush", lambda: typed_produce(bootstrap, topic, events, count))
    raw = Contender("raw Producer, SerializeToString", lambda: raw_produce(bootstrap, topic.name, events, count, bare))
    confluent = Contender(
        "raw Producer, ProtobufSerializer (mock://)",
        lambda: raw_produce(bootstrap, topic.name, events, count, serialize),
    )
    # Reference only: what the envelope's six headers cost on the wire, whatever the client.
    with_headers = Contender(
        "raw Producer, SerializeToString + 6 headers",
        lambda: raw_produce(bootstrap, topic.name, events, count, bare, envelope_headers(topic)),
    )
    # A fresh broker answers the first idempotent producers with COORDINATOR_LOAD_IN_PROGRESS for
    # a while: warm up outside the timing.
    typed_produce(bootstrap, topic, events, 2_000)
    raw_produce(bootstrap, topic.name, events, 2_000, bare)
    contenders = [typed, raw, confluent, with_headers]
    alternate(contenders, rounds)
    return contenders


def envelope_headers(topic: Topic[Any]) -> Callable[[], list[tuple[str, str | bytes | None]]]:
    """Headers like the envelope's: a fresh ce_id per record, the others as Topic.encode writes them."""
    template = topic.encode(topic.message_type()).headers
    counter = iter(range(1 << 62))
    return lambda: [
        template[0],
        ("ce_id", b"%032x-%d" % (12345, next(counter))),
        template[2],
        template[3],
        ("ce_time", template[4][1]),
        template[5],
    ]


# --- b: consuming --------------------------------------------------------------------


def downstream_call() -> None:
    """One round trip to the downstream system the handler writes to (simulated)."""
    time.sleep(HANDLER_COST)


def calibrate_downstream() -> float:
    started = time.perf_counter()
    for _ in range(200):
        downstream_call()
    return (time.perf_counter() - started) / 200


def fill(bootstrap: str, topic: Topic[Any], events: list[Any], count: int) -> None:
    with Producer(bootstrap_servers=bootstrap, topics=[topic]) as producer:
        for event in cycle(events, count):
            producer.send(topic, event)
        producer.flush()


def our_consume(bootstrap: str, topic: Topic[Any], count: int, *, batch: bool, costly: bool) -> Run:
    """Our Consumer in a fresh group; the timing starts once the group is joined and records flow."""
    seen = 0

    def per_record(record: Record[Any]) -> None:
        nonlocal seen
        seen += 1
        if costly:
            downstream_call()

    def per_batch(records: list[Record[Any]]) -> None:
        nonlocal seen
        seen += len(records)
        if costly:
            downstream_call()

    with Consumer(bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:12]}") as consumer:
        if batch:
            consumer.subscribe_batch(topic, per_batch, max_messages=BATCH_SIZE, max_wait=0.1)
        else:
            consumer.subscribe(topic, per_record)
        if consumer.run(stop_after=1, timeout=60) != 1:  # joins the group: not part of the throughput
            raise SystemExit("the consumer got no record within 60 s")
        watch = Stopwatch()
        processed = consumer.run(stop_after=count, timeout=120)
        run = watch.stop(processed)
    if processed != count or seen != count + 1:
        raise SystemExit(f"consumer processed {processed} (handler saw {seen}) of {count}")
    return run


def raw_consume(bootstrap: str, topic: Topic[Any], count: int) -> Run:
    """Reference only: plain confluent-kafka, at-least-once (decode, then store_offsets), consume(500)."""
    consumer = KafkaConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:12]}",
            "auto.offset.reset": "earliest",
            "enable.auto.offset.store": "false",
        }
    )
    decode = topic.message_type.FromString
    try:
        consumer.subscribe([topic.name])
        first: Message | None = None
        deadline = time.monotonic() + 60
        while first is None and time.monotonic() < deadline:
            first = consumer.poll(1.0)
        if first is None:
            raise SystemExit("the raw consumer got no record within 60 s")
        consumer.store_offsets(message=first)
        processed = 0
        watch = Stopwatch()
        deadline = time.monotonic() + 120
        while processed < count and time.monotonic() < deadline:
            for message in consumer.consume(min(BATCH_SIZE, count - processed), 1.0):
                if message.error() is None:
                    decode(message.value())
                    consumer.store_offsets(message=message)
                    processed += 1
        return watch.stop(processed)
    finally:
        consumer.close()


def consume_part(
    bootstrap: str, topic: Topic[Any], fast_count: int, slow_count: int, rounds: int
) -> tuple[list[Contender], list[Contender]]:
    costly = [
        Contender(
            f"per-record consumer, handler {HANDLER_COST * 1e3:g} ms/call",
            lambda: our_consume(bootstrap, topic, slow_count, batch=False, costly=True),
        ),
        Contender(
            f"batch consumer ({BATCH_SIZE}), handler {HANDLER_COST * 1e3:g} ms/call",
            lambda: our_consume(bootstrap, topic, fast_count, batch=True, costly=True),
        ),
    ]
    free = [
        Contender(
            "per-record consumer, no-op handler",
            lambda: our_consume(bootstrap, topic, fast_count, batch=False, costly=False),
        ),
        Contender(
            f"batch consumer ({BATCH_SIZE}), no-op handler",
            lambda: our_consume(bootstrap, topic, fast_count, batch=True, costly=False),
        ),
        Contender("raw confluent-kafka (reference)", lambda: raw_consume(bootstrap, topic, fast_count)),
    ]
    alternate(costly + free, rounds)
    return costly, free


# --- d: encoding ---------------------------------------------------------------------


def encode_part(events: list[Any], rounds: int) -> tuple[float, float, float]:
    """Medians of µs per message: bare SerializeToString, Topic.encode, ProtobufSerializer."""
    event = events[0]
    serialize = confluent_serializer(AUDIT_EVENTS_V1.name)
    bare: list[float] = []
    encode: list[float] = []
    confluent: list[float] = []
    number = 20_000
    for _ in range(rounds * 2):
        bare.append(min(timeit.repeat(event.SerializeToString, number=number, repeat=3)) / number)
        encode.append(min(timeit.repeat(lambda: AUDIT_EVENTS_V1.encode(event), number=number, repeat=3)) / number)
        confluent.append(min(timeit.repeat(lambda: serialize(event), number=number // 4, repeat=3)) / (number // 4))
    return statistics.median(bare) * 1e6, statistics.median(encode) * 1e6, statistics.median(confluent) * 1e6


# --- report --------------------------------------------------------------------------


def verdict(value: float, target: float, higher_is_better: bool) -> str:
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    return f"(target {sign} {target:g}: {'met' if met else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--records", type=int, default=200_000, help="records per produce round and per fast consume round"
    )
    parser.add_argument(
        "--slow-records", type=int, default=2_000, help="records per round of the costly per-record consumer"
    )
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    # librdkafka's warnings while a fresh broker's coordinator loads (the warm-up absorbs them).
    logging.getLogger("contracts_runtime.librdkafka").setLevel(logging.ERROR)
    started = time.monotonic()
    events = make_events(DISTINCT_EVENTS)
    sizes = [event.ByteSize() for event in events]
    run_id = uuid.uuid4().hex[:8]

    print("Python SDK benchmark (benchmarks/sdk.py)")
    print(f"  messages: AuditEvent, {min(sizes)}-{max(sizes)} bytes (median {statistics.median(sizes):.0f})")
    print(f"  {options.rounds} rounds, contenders alternating; figures are medians, [per-round values] follow")

    bare_us, encode_us, confluent_us = encode_part(events, options.rounds)

    with broker() as (bootstrap, fresh):
        print(f"  broker: {bootstrap} ({'started by this script' if fresh else 'KAFKA_BOOTSTRAP_SERVERS'})")
        produce_topic = audit_binding(fresh, run_id)
        consume_topic = Topic(
            name=f"bench.{run_id}.consume",
            message_type=AUDIT_EVENTS_V1.message_type,
            key_field=AUDIT_EVENTS_V1.key_field,
            type_name=AUDIT_EVENTS_V1.type_name,
        )
        names = [produce_topic.name, consume_topic.name, consume_topic.dlq_name]
        create_topics(bootstrap, names)
        try:
            print(f"\na/c. produce {options.records:,} records to {produce_topic.name} ({PARTITIONS} partitions)")
            print(f"     settings: {', '.join(f'{k}={v}' for k, v in PRODUCER_DEFAULTS.items())}")
            typed, raw, confluent, with_headers = produce_part(
                bootstrap, produce_topic, events, options.records, options.rounds
            )
            for contender in (typed, raw, confluent, with_headers):
                print(contender.line())

            fill(bootstrap, consume_topic, events, options.records + 1)
            cost = calibrate_downstream()
            print(f"\nb. consume from {consume_topic.name} ({options.records + 1:,} records, {PARTITIONS} partitions)")
            print(
                f"   handler cost: time.sleep({HANDLER_COST}) per call (measured {cost * 1e3:.2f} ms). It stands for\n"
                "   one round trip to a downstream system (a database insert, an HTTP call): time spent waiting,\n"
                "   not computing, with the GIL released, as network I/O does. A sleep rather than a real loopback\n"
                "   request, so that the echo server's own CPU use on this shared machine does not blur the figure."
            )
            print(
                f"   per-record: {options.slow_records:,} records a round (one call each); "
                f"batch: {options.records:,} (one call per {BATCH_SIZE})"
            )
            costly, free = consume_part(bootstrap, consume_topic, options.records, options.slow_records, options.rounds)
            for contender in costly + free:
                print(contender.line())
            # Go and Rust against their own raw clients, on the same broker, in the same run.
            native_part(bootstrap, records=options.records, slow_records=options.slow_records, rounds=options.rounds)
        finally:
            if not fresh:
                delete_topics(bootstrap, names)

    ratio_a = typed.rate / raw.rate
    ratio_b = costly[1].rate / costly[0].rate
    ratio_c = typed.rate / confluent.rate
    ratio_d = encode_us / bare_us
    print("\nd. encode one AuditEvent (CPU only)")
    print(f"    SerializeToString                   {bare_us:7.3f} us")
    print(f"    Topic.encode (key + 6 headers)      {encode_us:7.3f} us")
    print(f"    ProtobufSerializer (mock://)        {confluent_us:7.3f} us")
    print("\nratios")
    print(f"  a. typed produce / raw produce               {ratio_a:6.2f}  {verdict(ratio_a, 0.9, True)}")
    print(f"     by CPU per record (raw / typed): {raw.cpu_us / typed.cpu_us:.2f}")
    print(
        f"     raw with the envelope's 6 headers reaches {with_headers.rate / raw.rate:.2f} of raw; "
        f"typed / that: {typed.rate / with_headers.rate:.2f} (by CPU {with_headers.cpu_us / typed.cpu_us:.2f})"
    )
    print(f"  b. batch / per-record consume (costly)       {ratio_b:6.2f}  {verdict(ratio_b, 3, True)}")
    print(
        f"     without handler cost: per-record {free[0].rate:,.0f} rec/s, batch {free[1].rate:,.0f} rec/s, "
        f"raw confluent-kafka {free[2].rate:,.0f} rec/s"
    )
    print(f"  c. typed produce / ProtobufSerializer produce {ratio_c:6.2f}  {verdict(ratio_c, 1.5, True)}")
    print(
        f"     by CPU per record: {confluent.cpu_us / typed.cpu_us:.2f}; encode alone (d): ProtobufSerializer / "
        f"Topic.encode = {confluent_us / encode_us:.2f}"
    )
    print(f"  d. Topic.encode / SerializeToString          {ratio_d:6.2f}  {verdict(ratio_d, 1.3, False)}")
    print(f"\n(whole run: {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
