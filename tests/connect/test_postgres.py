"""Kafka -> PostgreSQL, exactly once: rows and offsets in one transaction, replicas killed with SIGKILL."""

from __future__ import annotations

import json
import signal
import time

import psycopg
import pytest
from contracts_runtime import Producer, Topic
from registry_contracts.email.v1.email_pb2 import EmailMessage

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
    conn.execute(TABLE.format(name="crm_basic"))
    produce(bindings.bootstrap, preferences_topic(prefs), range(10))
    unkeyed = preference(99)
    unkeyed.user_id = ""
    with Producer(bootstrap_servers=bindings.bootstrap, tracing=False) as producer:
        producer.send(preferences_topic(prefs), unkeyed)  # dropped by require:user_id
        producer.send(Topic(prefs, EmailMessage), EmailMessage())  # wrong type
    env = connectors.env(
        bindings,
        CONNECT_NAME="crm-basic",
        CONNECT_READER=f"kafka:{prefs}",
        CONNECT_WRITER="postgres:crm_basic",
        CONNECT_TRANSFORMS="require:user_id",
        CONNECT_HTTP_PORT="0",
    )
    process = connectors.start(env, "basic")
    wait_for(
        lambda: sum(_stored(conn, "crm-basic").values()) == 12,
        60,
        "offsets of all 12 records",
        lambda: connectors.log("basic"),
    )
    row = conn.execute(
        "SELECT changed_at, channels, subscriptions, locale, writes FROM crm_basic WHERE user_id = 'user-000004'"
    ).fetchone()
    assert row is not None
    changed_at, channels, subscriptions, locale, writes = row
    assert changed_at.timestamp() == 1_790_000_004  # type: ignore[attr-defined]
    assert channels == [{"channel": "CHANNEL_EMAIL", "optedIn": True}, {"channel": "CHANNEL_SMS"}]
    assert subscriptions == ["product-updates", "list-4"]
    assert (locale, writes) == ("en-GB", 1)
    assert _count(conn, "crm_basic") == 10
    dead = read_all(bindings.bootstrap, prefs + ".dlq", expect=1, timeout=20)
    assert len(dead) == 1
    assert dead[0][2]["contracts_dlq_reason"] == b"wrong-type"
    assert dead[0][2]["contracts_dlq_group"] == b"crm-basic"
    # SIGTERM: the batch in hand finishes, the process exits 0.
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0, connectors.log("basic")
    metrics = connectors.log("basic")
    assert "health and metrics on" in metrics
    # A restart reads on from the stored offsets: nothing is written twice.
    produce(bindings.bootstrap, preferences_topic(prefs), range(10, 12))
    connectors.start(env, "basic-2")
    wait_for(lambda: _count(conn, "crm_basic") == 12, 60, "the two new rows", lambda: connectors.log("basic-2"))
    time.sleep(1)
    assert conn.execute("SELECT max(writes) FROM crm_basic").fetchone() == (1,)


def test_three_replicas_one_killed_exactly_once(
    bindings: Bindings, connectors: Connectors, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    total = 20_000
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id")})
    prefs = bindings.name("prefs")
    conn.execute(TABLE.format(name="crm_replicas"))
    produce(bindings.bootstrap, preferences_topic(prefs), range(total))
    replicas = [
        connectors.start(
            connectors.env(
                bindings,
                CONNECT_NAME="crm-replicas",
                CONNECT_READER=f"kafka:{prefs}",
                CONNECT_WRITER="postgres:crm_replicas",
                CONNECT_REPLICA_ID=f"r{index}",
                CONNECT_BATCH_MAX="200",
            ),
            f"replica-{index}",
        )
        for index in range(3)
    ]
    logs = lambda: "\n".join(connectors.log(f"replica-{index}")[-3000:] for index in range(3))  # noqa: E731
    wait_for(lambda: _count(conn, "crm_replicas") >= 3000, 60, "the first rows", logs)
    replicas[0].send_signal(signal.SIGKILL)
    replicas[0].wait()
    wait_for(lambda: _count(conn, "crm_replicas") == total, 90, f"{total} rows", logs)
    ends = end_offsets(bindings.bootstrap, prefs, 3)
    wait_for(lambda: _stored(conn, "crm-replicas") == ends, 30, f"stored offsets {ends}", logs)
    duplicated = conn.execute("SELECT count(*) FROM crm_replicas WHERE writes <> 1").fetchone()
    assert duplicated == (0,), "rows written more than once"
    assert sum(ends.values()) == total
    assert json.dumps(sorted(_stored(conn, "crm-replicas"))) == "[0, 1, 2]"
