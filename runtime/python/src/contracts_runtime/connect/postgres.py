"""The PostgreSQL writer: rows upserted and consumed offsets stored in one transaction (exactly once).

The offsets table is the source of truth: on assignment the reader seeks to what it holds, not to
Kafka's committed offsets (which are still committed afterwards, for lag tools). Each write moves
the batch's offsets by compare-and-set, from what this replica last stored or read: if another
replica moved them (it owns the partition now, and this one is a zombie), the transaction rolls
back and nothing of the batch is written (FencedError).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg import sql

from contracts_runtime import Producer, RetryPolicy
from contracts_runtime.connect import rows
from contracts_runtime.connect.errors import ConnectConfigError, FencedError
from contracts_runtime.connect.pipeline import (
    Batch,
    ConnectorMetrics,
    Failure,
    Item,
    TopicPartitionKey,
    log,
    one_line,
    send_dead_letters,
)
from contracts_runtime.envelope import REASON_HANDLER

FROM_BEGINNING: Final = -2  # librdkafka's OFFSET_BEGINNING
# Errors of the database or the connection, not of a row: retried, then the connector stops (exit 1)
# and resumes exactly where the offsets table says, instead of dead-lettering a healthy batch.
_UNAVAILABLE: Final = (psycopg.OperationalError, psycopg.InterfaceError)


def connect(dsn: str | None) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn or "", connect_timeout=10, autocommit=True)
    except psycopg.Error as error:
        where = "CONNECT_POSTGRES_DSN" if dsn else "the PG* variables (CONNECT_POSTGRES_DSN is not set)"
        raise ConnectConfigError(f"cannot connect to PostgreSQL with {where}: {one_line(error)}") from None


def describe_table(conn: psycopg.Connection[Any], table: str) -> tuple[dict[str, str], list[tuple[str, ...]]]:
    """The table's columns (name -> data_type) and its primary key / unique constraints' columns."""
    schema, name = rows.split_table(table)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (schema, name),
        )
        columns = {str(column): str(kind) for column, kind in cursor.fetchall()}
        cursor.execute(
            "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
            "WHERE n.nspname = %s AND c.relname = %s AND i.indisunique GROUP BY i.indexrelid",
            (schema, name),
        )
        unique = [tuple(found) for (found,) in cursor.fetchall()]
    conn.commit()
    return columns, unique


class PostgresWriter:
    owns_offsets = True

    def __init__(
        self,
        *,
        connector: str,
        dsn: str | None,
        table: str,
        input_type: type,
        key: Sequence[str],
        offsets_table: str,
        dead_letters: Producer,
        metrics: ConnectorMetrics,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.input_type: type | None = input_type
        self._connector = connector
        self._conn = connect(dsn)
        self._offsets = rows.table_identifier(offsets_table)
        self._ensure_offsets_table(offsets_table)
        columns, unique = describe_table(self._conn, table)
        self.mapping = rows.mapping(table, input_type, columns, unique, key)
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._retry = retry or RetryPolicy()
        self._expected: dict[TopicPartitionKey, int] = {}
        # Compare and set: moves the batch's offsets only from the values this replica expects.
        # unnest(): one statement for any number of partitions, so it is prepared once and reused.
        self._advance = (
            sql.SQL(
                "UPDATE {} o SET next_offset = p.next_offset, updated_at = now() FROM unnest("
                "%(topics)s::text[], %(partitions)s::integer[], %(expected)s::bigint[], %(offsets)s::bigint[]"
                ") AS p(topic, partition, expected, next_offset) WHERE o.connector = %(connector)s "
                "AND o.topic = p.topic AND o.partition = p.partition AND o.next_offset = p.expected"
            )
            .format(self._offsets)
            .as_bytes(self._conn)
        )
        self._upsert = self.mapping.statement.as_bytes(self._conn)  # composed once, not per batch

    def _ensure_offsets_table(self, offsets_table: str) -> None:
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} (connector text NOT NULL, topic text NOT NULL, "
                        "partition integer NOT NULL, next_offset bigint NOT NULL, "
                        "updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, partition))"
                    ).format(self._offsets)
                )
            self._conn.commit()
        except psycopg.errors.UniqueViolation:  # two replicas created it at the same moment
            self._conn.rollback()
        except psycopg.Error as error:
            self._conn.rollback()
            raise ConnectConfigError(f"cannot create the offsets table {offsets_table}: {one_line(error)}") from None

    # --- offsets ---------------------------------------------------------------------------

    def stored_offsets(self, partitions: Sequence[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        """The next offset to read per partition, as stored here (rows created at FROM_BEGINNING)."""
        with self._conn.transaction(), self._conn.cursor() as cursor:
            cursor.executemany(
                sql.SQL(
                    "INSERT INTO {} (connector, topic, partition, next_offset) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING"
                ).format(self._offsets),
                [(self._connector, topic, partition, FROM_BEGINNING) for topic, partition in partitions],
            )
            cursor.execute(
                sql.SQL("SELECT topic, partition, next_offset FROM {} WHERE connector = %s").format(self._offsets),
                (self._connector,),
            )
            stored = {(topic, partition): offset for topic, partition, offset in cursor.fetchall()}
        wanted = {partition: stored[partition] for partition in partitions}
        self._expected.update(wanted)
        return wanted

    def forget(self, partitions: Sequence[TopicPartitionKey]) -> None:
        for partition in partitions:
            self._expected.pop(partition, None)

    # --- writing ---------------------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        prepared, failures = self._rows(batch)
        if failures:
            send_dead_letters(self._dead_letters, failures, self._connector, self._metrics)
        error = self._with_retries(lambda: self._commit([row for _, row in prepared], batch.offsets))
        if error is None:
            return
        if isinstance(error, _UNAVAILABLE):
            raise error
        self._one_by_one(prepared, batch.offsets)

    def _rows(self, batch: Batch) -> tuple[list[tuple[Item, tuple[object, ...]]], list[Failure]]:
        """Each item with its row; a message that has no row (a timestamp out of range) is a failure."""
        row = self.mapping.row
        failures = list(batch.failures)
        try:
            return [(item, row(item.message)) for item in batch.items], failures
        except Exception:  # rare: find the items at fault, one by one
            prepared = []
            for item in batch.items:
                try:
                    prepared.append((item, row(item.message)))
                except Exception as error:
                    failures.append(Failure(item, REASON_HANDLER, one_line(error), 1))
            return prepared, failures

    def _with_retries(self, call: Any) -> Exception | None:
        for attempt in range(1, self._retry.attempts + 1):
            try:
                call()
                return None
            except FencedError:
                raise
            except psycopg.Error as error:
                self._rollback()
                if attempt == self._retry.attempts:
                    return error
                log.warning("write to %s failed (attempt %d): %s", self.mapping.table, attempt, one_line(error))
                time.sleep(self._retry.delay(attempt))
        return None

    def _one_by_one(
        self, prepared: list[tuple[Item, tuple[object, ...]]], offsets: dict[TopicPartitionKey, int]
    ) -> None:
        """After a batch failed for good: each row in its own transaction; rows that fail are dead-lettered."""
        for item, row in prepared:
            position = {(item.topic, item.partition): item.offset + 1}
            try:
                self._commit([row], position)
                continue
            except FencedError:
                raise
            except _UNAVAILABLE:
                raise
            except psycopg.Error as error:
                self._rollback()
                failure = Failure(item, REASON_HANDLER, one_line(error), self._retry.attempts)
            send_dead_letters(self._dead_letters, [failure], self._connector, self._metrics)
            self._commit([], position)
        self._commit([], offsets)  # records dropped or dead-lettered after the last row

    def _commit(self, values: list[tuple[object, ...]], offsets: dict[TopicPartitionKey, int]) -> None:
        """Rows and offsets in one transaction, in two round trips (the hot path of the writer).

        One pipeline holds BEGIN, the offsets' compare-and-set and the upserts; one sync; then
        COMMIT if the compare-and-set moved every partition of the batch, else ROLLBACK
        (FencedError). The compare-and-set goes first: it locks the batch's offset rows (in
        (topic, partition) order, as PostgreSQL walks the sorted arrays) before any row is
        written, so a zombie waits there for the owner's transaction and then finds the offsets
        moved on. Should two replicas still deadlock in a rebalance, PostgreSQL aborts one and
        its retry is fenced.
        """
        partitions = sorted(offsets)
        expected = [self._expected.get(partition) for partition in partitions]
        if None in expected:  # not (or no longer) assigned here: never write it
            raise FencedError(f"{_names(partitions)}: not assigned to this replica")
        parameters = {
            "connector": self._connector,
            "topics": [topic for topic, _ in partitions],
            "partitions": [number for _, number in partitions],
            "expected": expected,
            "offsets": [offsets[partition] for partition in partitions],
        }
        conn = self._conn
        try:
            with conn.pipeline() as pipeline, conn.transaction():
                advanced = conn.execute(self._advance, parameters)
                if values:
                    conn.cursor().executemany(self._upsert, values)
                pipeline.sync()  # raises the upserts' errors; the transaction then rolls back
                if advanced.rowcount != len(partitions):
                    raise _OffsetsMovedError  # rolls the transaction back
        except _OffsetsMovedError:
            stored = self._stored(partitions)
            raise FencedError(
                f"{_names(partitions)} at {[stored.get(partition) for partition in partitions]} in the offsets table, "
                f"this replica expected {expected}: another replica owns them now"
            ) from None
        self._expected.update(offsets)

    def _stored(self, partitions: Sequence[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        with self._conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT topic, partition, next_offset FROM {} WHERE connector = %s AND topic = ANY(%s)").format(
                    self._offsets
                ),
                (self._connector, sorted({topic for topic, _ in partitions})),
            )
            return {(topic, partition): offset for topic, partition, offset in cursor.fetchall()}

    def _rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.rollback()

    def close(self) -> None:
        self._conn.close()


class _OffsetsMovedError(Exception):
    """The offsets' compare-and-set did not match: leave the transaction, rolling it back."""


def _names(partitions: Sequence[TopicPartitionKey]) -> str:
    return ", ".join(f"{topic}[{partition}]" for topic, partition in partitions)
