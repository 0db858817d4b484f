"""Health checks: liveness (the cluster answers) and progress (no assigned partition is stuck).

Both are plain functions returning a `Health`; `HealthServer` serves them as `/livez` and
`/readyz` (and `/metrics` when given a registry) from a daemon thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from confluent_kafka import KafkaException, TopicPartition
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

OFFSET_INVALID = -1001


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    detail: str
    checks: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.healthy


class _HasClient(Protocol):
    """A Producer or Consumer (their `client` is the confluent_kafka object)."""

    @property
    def client(self) -> Any: ...


def liveness(client: _HasClient, timeout: float = 5.0) -> Health:
    """Healthy when the cluster returns its metadata within `timeout` seconds."""
    started = time.monotonic()
    try:
        metadata = client.client.list_topics(timeout=timeout)
    except KafkaException as error:
        return Health(False, f"no cluster metadata within {timeout:g}s: {error.args[0]}")
    elapsed = time.monotonic() - started
    return Health(True, f"{len(metadata.brokers)} broker(s) answered in {elapsed * 1000:.0f} ms")


class ProgressCheck:
    """Per assigned partition: unhealthy when it has records past the committed offset (high
    watermark > committed) and the committed offset has not moved since the previous check.

    The first check of a partition only records a baseline. Committed offsets move with the
    consumer's background commits (`auto.commit.interval.ms`, 1 s by default), so call it at a
    longer interval than that; `min_interval` makes calls in between return the last result.
    A partition the group never committed is judged from the consumer's position.
    """

    def __init__(self, consumer: _HasClient, *, timeout: float = 5.0, min_interval: float = 0.0) -> None:
        self._consumer = consumer
        self._timeout = timeout
        self._min_interval = min_interval
        self._previous: dict[tuple[str, int], int] = {}
        self._last: Health | None = None
        self._last_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> Health:
        return self.check()

    def check(self) -> Health:
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last_at < self._min_interval:
                return self._last
            self._last = self._evaluate()
            self._last_at = now
            return self._last

    def _evaluate(self) -> Health:
        kafka = self._consumer.client
        try:
            assigned = list(kafka.assignment())
            if not assigned:
                self._previous = {}
                return Health(True, "no partitions assigned")
            committed = kafka.committed(assigned, timeout=self._timeout)
            positions = {(p.topic, p.partition): p.offset for p in kafka.position(assigned)}
        except KafkaException as error:
            return Health(False, f"cannot read offsets: {error.args[0]}")
        checks: dict[str, str] = {}
        current: dict[tuple[str, int], int] = {}
        stuck = []
        for partition in committed:
            key = (partition.topic, partition.partition)
            name = f"{partition.topic}[{partition.partition}]"
            try:
                _, high = kafka.get_watermark_offsets(
                    TopicPartition(partition.topic, partition.partition), timeout=self._timeout
                )
            except KafkaException as error:
                checks[name] = f"no watermark: {error.args[0]}"
                stuck.append(name)
                continue
            offset = partition.offset if partition.offset >= 0 else positions.get(key, OFFSET_INVALID)
            if offset < 0:
                checks[name] = "nothing fetched yet"
                continue
            current[key] = offset
            previous = self._previous.get(key)
            if high > offset and previous == offset:
                checks[name] = f"stuck at {offset}, high watermark {high}"
                stuck.append(name)
            else:
                checks[name] = f"at {offset} of {high}"
        self._previous = current
        if stuck:
            return Health(False, f"no progress on {', '.join(stuck)}", checks)
        return Health(True, f"{len(checks)} partition(s) progressing or caught up", checks)


class HealthServer:
    """`/livez`, `/readyz` (200 or 503, JSON body) and optionally `/metrics`, on a daemon thread."""

    def __init__(
        self,
        *,
        liveness: Callable[[], Health],
        readiness: Callable[[], Health] | None = None,
        registry: CollectorRegistry | None = None,
        host: str = "0.0.0.0",
        port: int = 0,
    ) -> None:
        routes: dict[str, Callable[[], Health]] = {"/livez": liveness, "/readyz": readiness or liveness}
        self._server = ThreadingHTTPServer((host, port), _handler_class(routes, registry))
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="contracts-health", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve_health(
    consumer: _HasClient | None = None,
    producer: _HasClient | None = None,
    *,
    registry: CollectorRegistry | None = None,
    host: str = "0.0.0.0",
    port: int = 0,
    timeout: float = 5.0,
    min_interval: float = 0.0,
) -> HealthServer:
    """A HealthServer for a service's clients: liveness of each, progress of the consumer."""
    clients = [client for client in (consumer, producer) if client is not None]
    if not clients:
        raise ValueError("serve_health needs a consumer or a producer")

    def live() -> Health:
        results = [liveness(client, timeout) for client in clients]
        return Health(all(results), "; ".join(result.detail for result in results))

    progress = None if consumer is None else ProgressCheck(consumer, timeout=timeout, min_interval=min_interval)
    return HealthServer(liveness=live, readiness=progress, registry=registry, host=host, port=port)


def _handler_class(
    routes: dict[str, Callable[[], Health]], registry: CollectorRegistry | None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics" and registry is not None:
                self._reply(200, CONTENT_TYPE_LATEST, generate_latest(registry))
                return
            check = routes.get(path)
            if check is None:
                self._reply(404, "text/plain", b"not found\n")
                return
            try:
                result = check()
            except Exception as error:  # a check that raises is a failing check, not a crashed server
                result = Health(False, f"check raised {type(error).__name__}: {error}")
            body = json.dumps({"healthy": result.healthy, "detail": result.detail, "checks": result.checks})
            self._reply(200 if result.healthy else 503, "application/json", body.encode() + b"\n")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: keep quiet
            pass

    return Handler
