"""The transactional outbox: `add()` in the service's transaction, and the relay that publishes it.

A service writes its own change and `outbox.add(conn, TOPIC, message)` in one PostgreSQL
transaction, so the database and Kafka never disagree. The connector (`CONNECT_READER=outbox:<table>`,
`CONNECT_WRITER=kafka:<topic>`) publishes the table's rows for that topic in `id` order with the
idempotent producer and deletes them in the transaction that locked them, once Kafka acknowledged
every record. Replicas share the work with `FOR UPDATE SKIP LOCKED`; a row is only taken when no
earlier row of the same key is still in the table, so a key's records keep their order even
across replicas (a hot key publishes one row per batch). A crash between Kafka's acknowledgement
and the commit republishes that batch once more, with the same `ce_id`s: consumers that must not
see a duplicate drop records whose `ce_id` they have seen.
"""

from __future__ import annotations

import time
from typing import Any, Final, TypeVar

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from contracts_runtime import Producer, Topic
from contracts_runtime.connect import rows
from contracts_runtime.connect.errors import ConnectConfigError
from contracts_runtime.connect.pipeline import ConnectorMetrics, Progress, log, one_line
from contracts_runtime.connect.postgres import connect
from contracts_runtime.errors import ContractError
from contracts_runtime.topic import ProtoMessage

M = TypeVar("M", bound=ProtoMessage)

DEFAULT_TABLE: Final = "contracts_outbox"
_COLUMNS: Final = {"id": "bigint", "topic": "text", "key": "bytea", "value": "bytea", "headers": "jsonb"}


def ddl(table: str = DEFAULT_TABLE) -> str:
    index = rows.split_table(table)[1] + "_topic_key_id"
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n"
        "  id bigserial PRIMARY KEY,           -- publication order\n"
        "  topic text NOT NULL,\n"
        "  key bytea,                          -- the record key (the envelope's key encoding)\n"
        "  value bytea NOT NULL,               -- the protobuf bytes\n"
        "  headers jsonb NOT NULL,             -- [[name, value], ...]: the CloudEvents headers, ce_id included\n"
        "  created_at timestamptz NOT NULL DEFAULT now()\n"
        ");\n"
        f"CREATE INDEX IF NOT EXISTS {index} ON {table} (topic, key, id);"
    )


def add(
    conn: psycopg.Connection[Any] | psycopg.Cursor[Any],
    topic: Topic[M],
    message: M,
    *,
    table: str = DEFAULT_TABLE,
    source: str | None = None,
) -> str:
    """Add `message` to the outbox in the caller's transaction; returns its `ce_id`.

    The message is encoded through the topic's contract (type check, key, envelope headers) now,
    so what the relay publishes is exactly what `Producer.send` would have sent.
    """
    record = topic.encode(message, source=source)
    headers = [[name, value.decode()] for name, value in record.headers]
    conn.execute(
        sql.SQL("INSERT INTO {} (topic, key, value, headers) VALUES (%s, %s, %s, %s)").format(
            rows.table_identifier(table)
        ),
        (record.topic, record.key, record.value, Jsonb(headers)),
    )
    return record.headers[1][1].decode()  # ce_id is the second header (envelope order)


class OutboxRelay:
    def __init__(
        self,
        *,
        connector: str,
        dsn: str | None,
        table: str,
        topic: Topic[Any],
        batch_max: int,
        batch_wait: float,
        metrics: ConnectorMetrics,
        progress: Progress,
    ) -> None:
        self._connector = connector
        self._table = table
        self._topic = topic
        self._batch_max = batch_max
        self._idle_wait = max(batch_wait, 0.05)
        self._metrics = metrics
        self._progress = progress
        self._conn = connect(dsn)
        self._check_table()
        identifier = rows.table_identifier(table)
        self._select = sql.SQL(
            "SELECT id, key, value, headers FROM {t} AS row WHERE topic = %s AND (row.key IS NULL OR NOT EXISTS "
            "(SELECT 1 FROM {t} AS earlier WHERE earlier.topic = row.topic AND earlier.key = row.key "
            "AND earlier.id < row.id)) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
        ).format(t=identifier)
        self._delete = sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(identifier)
        self._producer = Producer(config={"linger.ms": 1})
        self._producer.check_topics([topic.name])

    def _check_table(self) -> None:
        schema, name = rows.split_table(self._table)
        with self._conn.cursor() as cursor:
            cursor.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (schema, name),
            )
            found = {str(column): str(kind) for column, kind in cursor.fetchall()}
        missing = [column for column, kind in _COLUMNS.items() if found.get(column) != kind]
        if missing:
            raise ConnectConfigError(
                f"CONNECT_READER=outbox:{self._table}: the table is missing or lacks {', '.join(missing)} "
                "(contracts-connect --print-ddl shows it)"
            )

    def run(self, stopping: Any) -> None:
        failures = 0
        try:
            while not stopping():
                try:
                    published = self._publish_batch()
                    failures = 0
                except (psycopg.Error, ContractError) as error:
                    failures += 1
                    if failures >= 10:
                        raise
                    log.warning("outbox batch failed (%d in a row), retrying: %s", failures, one_line(error))
                    time.sleep(min(5.0, 0.2 * 2**failures))
                    continue
                self._progress.last_contact = time.monotonic()
                if published:
                    self._progress.last_write = time.monotonic()
                else:
                    time.sleep(self._idle_wait)
        finally:
            self._producer.close()
            self._conn.close()

    def _publish_batch(self) -> int:
        with self._conn.transaction(), self._conn.cursor() as cursor:
            cursor.execute(self._select, (self._topic.name, self._batch_max))
            selected = cursor.fetchall()
            if not selected:
                return 0
            started = time.monotonic()
            self._progress.batch_started = started
            try:
                handles = [
                    self._producer.send_raw(
                        self._topic.name, key, value, [(name, text.encode()) for name, text in headers]
                    )
                    for _, key, value, headers in selected
                ]
                for handle in handles:
                    handle.result(timeout=60)  # a failure rolls back: the rows stay and are published again
            finally:
                self._progress.batch_started = None
            cursor.execute(self._delete, ([row_id for row_id, *_ in selected],))
        connector, metrics = self._connector, self._metrics
        metrics.read.labels(connector).inc(len(selected))
        metrics.written.labels(connector).inc(len(selected))
        metrics.batch_size.labels(connector).observe(len(selected))
        metrics.write_duration.labels(connector).observe(time.monotonic() - started)
        return len(selected)
