"""Benchmark contracts-connect (issue 11) against hand-written loops doing the same work, side by side.

Prints, in one run, against a real local broker and PostgreSQL (started here with scripts/kafka and
scripts/postgres unless KAFKA_BOOTSTRAP_SERVERS / CONNECT_POSTGRES_DSN name them):

a. Kafka -> PostgreSQL: `contracts-connect` (exactly once: rows and offsets in one transaction) /
   a confluent-kafka + psycopg loop doing the same batched upserts (500 a batch, the same
   INSERT ... ON CONFLICT through executemany) with an at-least-once Kafka commit after each
   database commit (asynchronous, as the connector's own mirror commit)             target >= 0.8
b. Kafka -> Kafka through a transform: `contracts-connect` (transactional, to_audience) / a
   hand-written transactional consume-transform-produce loop (same batch, same transform) target >= 0.9

Both sides are timed the same way, by the system they write to, so process start-up, the group
join and the sampling of progress stay out of the figures: PostgreSQL rows carry their
transaction's start time (`written_at DEFAULT now()`), and the rate is the rows of every batch
but the last over the time from the first batch's start to the last one's; Kafka records carry
their producer timestamps, and the rate is the records over the time from the first to the last.
Contenders alternate (the order flips every round); each figure is the median of --rounds
rounds, and the ratio is the median of the rounds' own ratios (each measured minutes apart at most).

    .venv/bin/python benchmarks/connect.py [--records 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any, cast

import psycopg
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples" / "preferences" / "transforms" / "src"))

from contracts_runtime import Producer as TypedProducer  # noqa: E402
from contracts_runtime import Topic  # noqa: E402
from preferences_transforms import to_audience  # type: ignore[import-not-found,unused-ignore]  # noqa: E402
from registry_contracts.preferences.v1.preferences_pb2 import PreferenceChanged  # noqa: E402

from tests.connect.helpers import audience_topic, preference, preferences_topic, register_transforms  # noqa: E402

CONNECT = str(Path(sys.executable).parent / "contracts-connect")
BATCH = 500
PARTITIONS = 3
TABLE = (
    "CREATE TABLE {name} (user_id text PRIMARY KEY, changed_at timestamptz, subscriptions jsonb, locale text, "
    "written_at timestamptz NOT NULL DEFAULT now())"  # not a field: the connector leaves it to its default
)
UPSERT = (
    "INSERT INTO {name} (user_id, changed_at, subscriptions, locale) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (user_id) DO UPDATE SET changed_at = EXCLUDED.changed_at, "
    "subscriptions = EXCLUDED.subscriptions, locale = EXCLUDED.locale"
)


@contextmanager
def service(script: str, variable: str, directory: Path) -> Iterator[str]:
    existing = os.environ.get(variable)
    if existing:
        yield existing
        return
    started = subprocess.run(
        [str(ROOT / "scripts" / script), "start", "--dir", str(directory)], capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        raise SystemExit(f"scripts/{script} start failed:\n{started.stderr}")
    values = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield values[variable]
    finally:
        subprocess.run(
            [str(ROOT / "scripts" / script), "stop", "--dir", str(directory)], capture_output=True, check=False
        )


def create(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names]).values():
        future.result(30)


def fill(bootstrap: str, topic: Topic[PreferenceChanged], records: int) -> None:
    with TypedProducer(bootstrap_servers=bootstrap, tracing=False) as producer:
        for number in range(records):
            producer.send(topic, preference(number))


def wait_until(progress: Callable[[], int], records: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while progress() < records:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out at {progress()} of {records}")
        time.sleep(0.1)


def table_rate(conn: psycopg.Connection[Any], table: str) -> float:
    """Rows of every transaction but the last, over the time from the first one's start to the last one's."""
    row = conn.execute(
        f"SELECT count(*), extract(epoch FROM max(written_at) - min(written_at)), "
        f"count(*) FILTER (WHERE written_at = (SELECT max(written_at) FROM {table})) FROM {table}"
    ).fetchone()
    assert row is not None
    rows, seconds, last = int(row[0]), float(row[1]), int(row[2])
    return (rows - last) / seconds


def topic_rate(bootstrap: str, topic: str, records: int) -> float:
    """Records over the time from the first producer timestamp to the last (read_committed)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"rate-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topic])
    stamps: list[int] = []
    deadline = time.monotonic() + 120
    while len(stamps) < records and time.monotonic() < deadline:
        stamps.extend(m.timestamp()[1] for m in consumer.consume(5000, 0.5) if m.error() is None)
    consumer.close()
    if len(stamps) < records:
        raise SystemExit(f"{topic}: read {len(stamps)} of {records} records back")
    return (len(stamps) - 1) / ((max(stamps) - min(stamps)) / 1000)


# --- a. Kafka -> PostgreSQL -------------------------------------------------------------------


def hand_pg(bootstrap: str, dsn: str, topic: str, table: str, records: int) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"hand-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false",
        }
    )
    consumer.subscribe([topic])
    done = 0
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cursor:
        while done < records:
            messages = [m for m in consumer.consume(BATCH, 0.1) if m.error() is None]
            if not messages:
                continue
            rows = []
            for message in messages:
                event = PreferenceChanged.FromString(message.value() or b"")
                changed_at = event.changed_at.ToDatetime(tzinfo=UTC)
                rows.append((event.user_id, changed_at, Jsonb(list(event.subscriptions)), event.locale))
            with conn.transaction():
                cursor.executemany(UPSERT.format(name=table), rows)
            consumer.commit(asynchronous=True)  # after the rows are committed: at least once
            done += len(messages)
    consumer.close()


def connect_pg(bootstrap: str, dsn: str, module_dir: Path, module: str, topic: str, table: str, records: int) -> float:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    env = connector_env(
        bootstrap,
        dsn,
        module_dir,
        module,
        CONNECT_NAME=name,
        CONNECT_READER=f"kafka:{topic}",
        CONNECT_WRITER=f"postgres:{table}",
        CONNECT_BATCH_MAX=str(BATCH),
    )
    with psycopg.connect(dsn, autocommit=True) as conn, running(env):

        def progress() -> int:
            try:
                row = conn.execute(
                    "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM contracts_connect_offsets "
                    "WHERE connector = %s",
                    (name,),
                ).fetchone()
            except psycopg.errors.UndefinedTable:
                return 0
            return int(row[0]) if row else 0

        wait_until(progress, records)
        return table_rate(conn, table)


# --- b. Kafka -> Kafka ------------------------------------------------------------------------


def hand_kafka(bootstrap: str, source: str, target: Topic[Any], records: int) -> None:
    group = f"hand-{uuid.uuid4().hex}"
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false",
            "isolation.level": "read_committed",
        }
    )
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": group, "linger.ms": 5, "compression.type": "lz4"}
    )
    producer.init_transactions(30)
    consumer.subscribe([source])
    done = 0
    while done < records:
        messages = [m for m in consumer.consume(BATCH, 0.1) if m.error() is None]
        if not messages:
            continue
        producer.begin_transaction()
        for message in messages:
            output = to_audience(PreferenceChanged.FromString(message.value() or b""))
            if output is not None:
                record = target.encode(output)  # the same envelope the connector writes
                producer.produce(target.name, record.value, record.key, headers=cast(Any, record.headers))
        positions: dict[int, int] = {}
        for message in messages:
            positions[message.partition() or 0] = (message.offset() or 0) + 1
        producer.send_offsets_to_transaction(
            [TopicPartition(source, p, o) for p, o in positions.items()], consumer.consumer_group_metadata(), 30
        )
        producer.commit_transaction(60)
        done += len(messages)
    consumer.close()


def connect_kafka(
    bootstrap: str, dsn: str, module_dir: Path, module: str, source: str, target: str, records: int
) -> float:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    env = connector_env(
        bootstrap,
        dsn,
        module_dir,
        module,
        CONNECT_NAME=name,
        CONNECT_READER=f"kafka:{source}",
        CONNECT_WRITER=f"kafka:{target}",
        CONNECT_TRANSFORMS="to_audience",
        CONNECT_BATCH_MAX=str(BATCH),
    )
    env["PYTHONPATH"] = register_transforms(module_dir / "site") + ":" + env["PYTHONPATH"]
    admin = AdminClient({"bootstrap.servers": bootstrap})

    def progress() -> int:
        try:
            result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(name)])[name].result(10)
        except KafkaException:
            return 0
        return sum(max(tp.offset, 0) for tp in result.topic_partitions or [])

    with running(env):
        wait_until(progress, records)
    return topic_rate(bootstrap, target, records)


def connector_env(bootstrap: str, dsn: str, module_dir: Path, module: str, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECT_", "KAFKA_"))}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        CONNECT_POSTGRES_DSN=dsn,
        CONNECT_CONTRACTS=module,
        PYTHONPATH=f"{module_dir}:{env.get('PYTHONPATH', '')}",
        **variables,
    )
    return env


@contextmanager
def running(env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen([CONNECT], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    records = arguments.records
    with (
        tempfile.TemporaryDirectory() as scratch,
        service("kafka", "KAFKA_BOOTSTRAP_SERVERS", Path(scratch) / "kafka") as bootstrap,
        service("postgres", "CONNECT_POSTGRES_DSN", Path(scratch) / "postgres") as dsn,
    ):
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        source = f"{prefix}.prefs"
        # One output topic per Kafka run, so that each is timed by its own records.
        targets = {(side, n): f"{prefix}.audience.{side}{n}" for n in range(arguments.rounds) for side in "ch"}
        create(bootstrap, [name for topic in (source, *targets.values()) for name in (topic, topic + ".dlq")])
        module_dir = Path(scratch)
        module = f"{prefix}_topics"
        (module_dir / f"{module}.py").write_text(
            "from contracts_runtime import Topic\n"
            "from registry_contracts.preferences.v1.preferences_pb2 import PreferenceChanged\n"
            "from registry_contracts.marketing.v1.audience_member_pb2 import AudienceMember\n"
            f"PREFS = Topic({source!r}, PreferenceChanged, key_field='user_id')\n"
            + "".join(
                f"AUDIENCE_{side}{n} = Topic({name!r}, AudienceMember, key_field='user_id')\n"
                for (side, n), name in targets.items()
            )
        )
        fill(bootstrap, preferences_topic(source), records)
        print(
            f"{records} records of preferences.v1.PreferenceChanged, batches of {BATCH}, {PARTITIONS} partitions",
            flush=True,
        )
        figures: dict[str, list[float]] = {"pg-connect": [], "pg-hand": [], "kafka-connect": [], "kafka-hand": []}
        with psycopg.connect(dsn, autocommit=True) as conn:
            for n in range(arguments.rounds):
                tables = {side: f"{prefix}_{side}_{n}" for side in "ch"}
                for table in tables.values():
                    conn.execute(TABLE.format(name=table))
                for side in "ch" if n % 2 == 0 else "hc":
                    if side == "c":
                        figures["pg-connect"].append(
                            connect_pg(bootstrap, dsn, module_dir, module, source, tables["c"], records)
                        )
                        figures["kafka-connect"].append(
                            connect_kafka(bootstrap, dsn, module_dir, module, source, targets["c", n], records)
                        )
                    else:
                        hand_pg(bootstrap, dsn, source, tables["h"], records)
                        figures["pg-hand"].append(table_rate(conn, tables["h"]))
                        hand_kafka(bootstrap, source, audience_topic(targets["h", n]), records)
                        figures["kafka-hand"].append(topic_rate(bootstrap, targets["h", n], records))
                print(
                    f"  round {n + 1}: a. {figures['pg-connect'][-1]:,.0f} / {figures['pg-hand'][-1]:,.0f} rec/s = "
                    f"{figures['pg-connect'][-1] / figures['pg-hand'][-1]:.2f}   "
                    f"b. {figures['kafka-connect'][-1]:,.0f} / {figures['kafka-hand'][-1]:,.0f} rec/s = "
                    f"{figures['kafka-connect'][-1] / figures['kafka-hand'][-1]:.2f}",
                    flush=True,
                )
        report(figures, arguments.rounds)


def report(figures: dict[str, list[float]], rounds: int) -> None:
    median = {name: statistics.median(values) for name, values in figures.items()}
    ratios = {
        kind: statistics.median(c / h for c, h in zip(figures[f"{kind}-connect"], figures[f"{kind}-hand"], strict=True))
        for kind in ("pg", "kafka")
    }
    print(f"median of {rounds} rounds:")
    print(
        f"a. Kafka -> PostgreSQL  contracts-connect (exactly once) {median['pg-connect']:>9,.0f} rec/s   "
        f"hand-written (at least once) {median['pg-hand']:>9,.0f} rec/s   "
        f"ratio {ratios['pg']:.2f} (target >= 0.8)"
    )
    print(
        f"b. Kafka -> Kafka       contracts-connect (transactional) {median['kafka-connect']:>8,.0f} rec/s   "
        f"hand-written (transactional) {median['kafka-hand']:>9,.0f} rec/s   "
        f"ratio {ratios['kafka']:.2f} (target >= 0.9)"
    )


if __name__ == "__main__":
    main()
