"""At-least-once writers: HTTP (idempotent by `Idempotency-Key`) and stdout (JSON lines).

Their offsets are committed to Kafka after the whole batch was written (or dead-lettered).
The HTTP writer POSTs one request per record, because an `Idempotency-Key` names one request:
the key is the record's `ce_id`, so a receiver that remembers the keys it has seen drops the
replays of a crash. A batch's requests run concurrently (CONNECT_HTTP_CONCURRENCY connections,
kept alive); 5xx answers, timeouts and refused connections are retried with backoff, a 4xx is
dead-lettered at once with the response in its headers.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TextIO
from urllib.parse import urlsplit

from google.protobuf import json_format

from contracts_runtime import Producer, RetryPolicy, envelope
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

HTTP_STATUS_HEADER: Final = "contracts_dlq_http_status"
HTTP_RESPONSE_HEADER: Final = "contracts_dlq_http_response"
HTTP_RETRY: Final = RetryPolicy(attempts=6, base_delay=0.2, max_delay=5.0)
HTTP_TIMEOUT: Final = 10.0


def message_json(message: Any) -> dict[str, Any]:
    result: dict[str, Any] = json_format.MessageToDict(message)
    return result


class StdoutWriter:
    owns_offsets = False
    input_type: type | None = None

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout

    def stored_offsets(self, partitions: Sequence[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        return {}

    def write(self, batch: Batch) -> None:
        lines = [
            json.dumps(
                {
                    "topic": item.topic,
                    "partition": item.partition,
                    "offset": item.offset,
                    "key": None if item.key is None else item.key.decode("utf-8", "replace"),
                    "ce_id": item.ce_id,
                    "message": message_json(item.message),
                }
            )
            for item in batch.items
        ]
        for failure in batch.failures:  # nothing to dead-letter to without Kafka writes: say it loudly
            log.error("%s[%d]@%d: %s", failure.item.topic, failure.item.partition, failure.item.offset, failure.error)
        if lines:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()

    def close(self) -> None:
        self._stream.flush()


class _Outcome:
    __slots__ = ("failure",)

    def __init__(self, failure: Failure | None) -> None:
        self.failure = failure


class HttpWriter:
    owns_offsets = False
    input_type: type | None = None

    def __init__(
        self,
        *,
        connector: str,
        url: str,
        concurrency: int,
        dead_letters: Producer,
        metrics: ConnectorMetrics,
        retry: RetryPolicy = HTTP_RETRY,
    ) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.netloc
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connector = connector
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._retry = retry
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="contracts-connect-http")

    def stored_offsets(self, partitions: Sequence[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        return {}

    def write(self, batch: Batch) -> None:
        outcomes = list(self._pool.map(self._post, batch.items))
        failures = list(batch.failures) + [outcome.failure for outcome in outcomes if outcome.failure is not None]
        if failures:
            send_dead_letters(self._dead_letters, failures, self._connector, self._metrics)

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = self._local.connection = kind(self._host, timeout=HTTP_TIMEOUT)
        return connection

    def _post(self, item: Item) -> _Outcome:
        body = json.dumps(message_json(item.message)).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": item.ce_id or f"{item.topic}-{item.partition}-{item.offset}",
            # CloudEvents HTTP binding, binary mode: the event's attributes as ce-* headers.
            **{
                name.replace("_", "-"): value.decode("utf-8", "replace")
                for name, value in item.headers
                if name.startswith("ce_") and isinstance(value, bytes)
            },
        }
        last_error = ""
        for attempt in range(1, self._retry.attempts + 1):
            try:
                connection = self._connection()
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
                text = response.read()[:1000].decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as error:
                self._local.connection = None
                last_error = one_line(error)
            else:
                if response.status < 300:
                    return _Outcome(None)
                if response.status < 500:
                    return _Outcome(
                        Failure(
                            item,
                            envelope.REASON_HANDLER,
                            one_line(f"HTTP {response.status} {response.reason}: {text}"),
                            attempt,
                            [(HTTP_STATUS_HEADER, b"%d" % response.status), (HTTP_RESPONSE_HEADER, text.encode())],
                        )
                    )
                last_error = one_line(f"HTTP {response.status} {response.reason}: {text}")
            if attempt < self._retry.attempts:
                log.warning("POST %s failed (attempt %d): %s", self._path, attempt, last_error)
                time.sleep(self._retry.delay(attempt))
        return _Outcome(Failure(item, envelope.REASON_HANDLER, last_error, self._retry.attempts))

    def close(self) -> None:
        self._pool.shutdown()
