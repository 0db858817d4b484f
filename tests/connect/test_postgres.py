"""Kafka -> PostgreSQL, exactly once: rows and offsets in one transaction, replicas killed or fenced."""

from __future__ import annotations

import json
import signal
import time

import psycopg
import pytest
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import Message, TopicPartition
from contracts_runtime import Producer, Topic
from contracts_runtime.connect import FencedError
from contracts_runtime.connect.pipeline import Batch, ConnectorMetrics, Item
from contracts_runtime.connect.postgres import FROM_BEGINNING, PostgresWriter
from google.protobuf import json_format
from prometheus_client import CollectorRegistry
from registry_contracts.email.v1.email_pb2 import EmailMessage
from registry_contracts.preferences.v1.preferences_pb2 import PreferenceChanged

from tests.connect.conftest import Bindings, Connectors, end_offsets, read_all, wait_for
from tests.connect.helpers import PREFERENCES, preference, preferences_topic, produce

pytestmark = pytest.mark.kafka

TABLE = """
CREATE TABLE {name} (
  user_id text PRIMARY KEY,
  changed_at timestamptz,
  channels jsonb,
  subscriptions jsonb,
  locale text,
  writes integer NOT NULL DEFAULT 1  -- not a field: counts every insert and update of the row
);
CREATE TRIGGER {name}_writes BEFORE UPDATE ON {name} FOR EACH ROW EXECUTE FUNCTION count_writes();
"""


@pytest.fixture
def conn(db: psycopg.Connection[tuple[object, ...]]) -> psycopg.Connection[tuple[object, ...]]:
    db.execute(
        "CREATE OR REPLACE FUNCTION count_writes() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.writes := OLD.writes + 1; RETURN NEW; END $$"
    )
    return db


def _count(conn: psycopg.Connection[tuple[object, ...]], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(str(row[0])) if row else 0


def _stored(conn: psycopg.Connection[tuple[object, ...]], connector: str) -> dict[int, int]:
    try:
        rows = conn.execute(
            "SELECT partition, next_offset FROM contracts_connect_offsets WHERE connector = %s", (connector,)
        ).fetchall()
    except psycopg.errors.UndefinedTable:  # the connector creates it when it starts
        return {}
    return {int(str(partition)): int(str(offset)) for partition, offset in rows}


def test_rows_offsets_dead_letters_and_drops(
    bindings: Bindings, connectors: Connectors, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id")})
    prefs = bindings.name("prefs")
    table = crm_basic = f"crm_basic_{bindings.prefix}"
    conn.execute(TABLE.format(name=table))
    produce(bindings.bootstrap, preferences_topic(prefs), range(10))
    unkeyed = preference(99)
    unkeyed.user_id = ""
    with Producer(bootstrap_servers=bindings.bootstrap, tracing=False) as producer:
        producer.send(preferences_topic(prefs), unkeyed)  # dropped by require:user_id
        producer.send(Topic(prefs, EmailMessage), EmailMessage())  # wrong type
    env = connectors.env(
        bindings,
        CONNECT_NAME=crm_basic,
        CONNECT_READER=f"kafka:{prefs}",
        CONNECT_WRITER=f"postgres:{table}",
        CONNECT_TRANSFORMS="require:user_id",
        CONNECT_HTTP_PORT="0",
    )
    process = connectors.start(env, "basic")
    wait_for(
        lambda: sum(_stored(conn, crm_basic).values()) == 12,
        60,
        "offsets of all 12 records",
        lambda: connectors.log("basic"),
    )
    row = conn.execute(
        f"SELECT changed_at, channels, subscriptions, locale, writes FROM {table} WHERE user_id = 'user-000004'"
    ).fetchone()
    assert row is not None
    changed_at, channels, subscriptions, locale, writes = row
    assert changed_at.timestamp() == 1_790_000_004  # type: ignore[attr-defined]
    assert channels == [{"channel": "CHANNEL_EMAIL", "optedIn": True}, {"channel": "CHANNEL_SMS"}]
    assert subscriptions == ["product-updates", "list-4"]
    assert (locale, writes) == ("en-GB", 1)
    assert _count(conn, table) == 10
    dead = read_all(bindings.bootstrap, prefs + ".dlq", expect=1, timeout=20)
    assert len(dead) == 1
    assert dead[0][2]["contracts_dlq_reason"] == b"wrong-type"
    assert dead[0][2]["contracts_dlq_group"] == crm_basic.encode()
    # SIGTERM: the batch in hand finishes, the process exits 0.
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0, connectors.log("basic")
    metrics = connectors.log("basic")
    assert "health and metrics on" in metrics
    # A restart reads on from the stored offsets: nothing is written twice.
    produce(bindings.bootstrap, preferences_topic(prefs), range(10, 12))
    connectors.start(env, "basic-2")
    wait_for(lambda: _count(conn, table) == 12, 60, "the two new rows", lambda: connectors.log("basic-2"))
    time.sleep(1)
    assert conn.execute(f"SELECT max(writes) FROM {table}").fetchone() == (1,)


def test_three_replicas_one_killed_exactly_once(
    bindings: Bindings, connectors: Connectors, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    total = 20_000
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id")})
    prefs = bindings.name("prefs")
    table = crm_replicas = f"crm_replicas_{bindings.prefix}"
    conn.execute(TABLE.format(name=table))
    produce(bindings.bootstrap, preferences_topic(prefs), range(total))
    replicas = [
        connectors.start(
            connectors.env(
                bindings,
                CONNECT_NAME=crm_replicas,
                CONNECT_READER=f"kafka:{prefs}",
                CONNECT_WRITER=f"postgres:{table}",
                CONNECT_REPLICA_ID=f"r{index}",
                CONNECT_BATCH_MAX="200",
            ),
            f"replica-{index}",
        )
        for index in range(3)
    ]
    logs = lambda: "\n".join(connectors.log(f"replica-{index}")[-3000:] for index in range(3))  # noqa: E731
    wait_for(lambda: _count(conn, table) >= 3000, 60, "the first rows", logs)
    replicas[0].send_signal(signal.SIGKILL)
    replicas[0].wait()
    wait_for(lambda: _count(conn, table) == total, 90, f"{total} rows", logs)
    ends = end_offsets(bindings.bootstrap, prefs, 3)
    wait_for(lambda: _stored(conn, crm_replicas) == ends, 30, f"stored offsets {ends}", logs)
    duplicated = conn.execute(f"SELECT count(*) FROM {table} WHERE writes <> 1").fetchone()
    assert duplicated == (0,), "rows written more than once"
    assert sum(ends.values()) == total
    assert json.dumps(sorted(_stored(conn, crm_replicas))) == "[0, 1, 2]"


def test_payload_column_composite_key_and_a_row_the_database_refuses(
    bindings: Bindings, connectors: Connectors, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id")})
    prefs = bindings.name("prefs")
    table = crm_payload = f"crm_payload_{bindings.prefix}"
    conn.execute(
        f"CREATE TABLE {table} (user_id text, locale text, payload jsonb NOT NULL, "
        "PRIMARY KEY (user_id, locale), CHECK (user_id <> 'user-000004'))"
    )
    env = connectors.env(
        bindings,
        CONNECT_NAME=crm_payload,
        CONNECT_READER=f"kafka:{prefs}",
        CONNECT_WRITER=f"postgres:{table}",
        CONNECT_POSTGRES_KEY="user_id",
    )
    refused = connectors.run(env)  # the table's key is (user_id, locale): an upsert on user_id cannot work
    assert refused.returncode == 2, refused.stderr
    assert "(user_id) is not the table's primary key or a unique constraint" in refused.stderr
    produce(bindings.bootstrap, preferences_topic(prefs), range(10))
    beyond_9999 = preference(10)
    beyond_9999.changed_at.seconds = 300_000_000_000  # encodes, but is no timestamptz (nor protobuf JSON)
    with Producer(bootstrap_servers=bindings.bootstrap, tracing=False) as producer:
        producer.send(preferences_topic(prefs), beyond_9999)
    connectors.start({**env, "CONNECT_POSTGRES_KEY": "locale, user_id"}, "payload")
    wait_for(
        lambda: sum(_stored(conn, crm_payload).values()) == 11,
        60,
        "offsets of all 11 records",
        lambda: connectors.log("payload"),
    )
    found = conn.execute(f"SELECT user_id, payload FROM {table} WHERE locale = 'en-GB'").fetchall()
    rows = {str(user_id): payload for user_id, payload in found}
    assert sorted(rows) == [f"user-{number:06d}" for number in range(10) if number != 4]
    # The payload is the whole message in the protobuf JSON mapping.
    assert rows["user-000007"] == json_format.MessageToDict(preference(7))
    # The refused row went to the dead-letter topic after the batch's retries and a row-by-row pass;
    # the message that has no row went there at once.
    dead_letters = read_all(bindings.bootstrap, prefs + ".dlq", expect=2, timeout=20)
    dead = {key or b"": headers for key, _, headers in dead_letters}
    assert sorted(dead) == [b"user-000004", b"user-000010"]
    assert dead[b"user-000004"]["contracts_dlq_reason"] == b"handler"
    assert dead[b"user-000004"]["contracts_dlq_error"].startswith(
        f'CheckViolation: new row for relation "{table}"'.encode()
    )
    assert dead[b"user-000010"]["contracts_dlq_reason"] == b"handler"
    assert b"Timestamp is not valid" in dead[b"user-000010"]["contracts_dlq_error"]


def _fetch(bootstrap: str, topic: str, count: int) -> list[Message]:
    consumer = KafkaConsumer(
        {"bootstrap.servers": bootstrap, "group.id": f"fetch-{topic}", "auto.offset.reset": "earliest"}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    fetched: list[Message] = []
    deadline = time.monotonic() + 30
    while len(fetched) < count and time.monotonic() < deadline:
        fetched.extend(message for message in consumer.consume(count, 1) if message.error() is None)
    consumer.close()
    assert len(fetched) == count
    return fetched


def _batch(topic: Topic[PreferenceChanged], records: list[Message]) -> Batch:
    items = [Item(record, topic.decode(record.value(), record.headers())) for record in records]  # type: ignore[arg-type]
    return Batch(items, [], {(topic.name, 0): (records[-1].offset() or 0) + 1})


def test_a_zombie_replica_is_fenced_and_writes_nothing(
    bindings: Bindings, postgres_dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id")}, partitions=1)
    topic = preferences_topic(bindings.name("prefs"))
    produce(bindings.bootstrap, topic, range(10))
    records = _fetch(bindings.bootstrap, topic.name, 10)
    table = crm_fenced = f"crm_fenced_{bindings.prefix}"
    conn.execute(TABLE.format(name=table))
    partition = (topic.name, 0)

    def writer(dead_letters: Producer) -> PostgresWriter:
        return PostgresWriter(
            connector=crm_fenced,
            dsn=postgres_dsn,
            table=table,
            input_type=PreferenceChanged,
            key=["user_id"],
            offsets_table="contracts_connect_offsets",
            dead_letters=dead_letters,
            metrics=ConnectorMetrics(crm_fenced, CollectorRegistry()),
        )

    with Producer(bootstrap_servers=bindings.bootstrap, tracing=False) as dead_letters:
        zombie, owner = writer(dead_letters), writer(dead_letters)
        try:
            # The zombie was assigned the partition, then lost it in a rebalance it has not noticed yet.
            assert zombie.stored_offsets([partition]) == {partition: FROM_BEGINNING}
            assert owner.stored_offsets([partition]) == {partition: FROM_BEGINNING}
            owner.write(_batch(topic, records[:5]))
            with pytest.raises(FencedError, match=r"expected \[-2\]: another replica owns them now"):
                zombie.write(_batch(topic, records[:7]))  # rows 5 and 6 are the zombie's alone
            assert _count(conn, table) == 5, "the zombie's rows were rolled back"
            assert _stored(conn, crm_fenced) == {0: 5}
            # Once rewound (the reader seeks to the stored offsets), it can write on from there.
            assert zombie.stored_offsets([partition]) == {partition: 5}
            zombie.write(_batch(topic, records[5:7]))
            # The owner, now behind the table, is fenced in turn; a partition revoked is never written.
            with pytest.raises(FencedError):
                owner.write(_batch(topic, records[5:10]))
            zombie.forget([partition])
            with pytest.raises(FencedError, match="not assigned to this replica"):
                zombie.write(_batch(topic, records[7:10]))
            assert _count(conn, table) == 7
            assert _stored(conn, crm_fenced) == {0: 7}
            assert conn.execute(f"SELECT max(writes) FROM {table}").fetchone() == (1,)
        finally:
            zombie.close()
            owner.close()
