"""Health checks: liveness (a broker answered lately) and progress (no assigned partition is stuck).

docs/runtime.md, "Health": every answer comes within 1 s whatever the client is doing, so the
checks never call into the client (librdkafka serializes calls on one handle: a `list_topics` from
the health thread waits behind the consumer's poll for tens of seconds). They read state the client
keeps: when a broker last answered it (fetches, delivery reports, statistics, and a metadata probe
on a separate admin connection), and each assigned partition's offsets from librdkafka's statistics.
`HealthServer` serves them as `/livez` and `/readyz` (and `/metrics` when given a registry).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from contracts_runtime._client import BrokerContact
from contracts_runtime.consumer import PartitionState

# docs/runtime.md: a broker answered within this long, and a partition is stuck after this long.
DEFAULT_WINDOW = 30.0
DEFAULT_STUCK_AFTER = 30.0


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    detail: str
    checks: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.healthy


class _HasContact(Protocol):
    """A Producer or Consumer."""

    @property
    def broker_contact(self) -> BrokerContact: ...


class _HasProgress(Protocol):
    """A Consumer."""

    def progress(self) -> tuple[Mapping[tuple[str, int], PartitionState], float | None]: ...


def liveness(
    client: _HasContact, timeout: float = 5.0, *, window: float = DEFAULT_WINDOW, probe_interval: float = 5.0
) -> Health:
    """Healthy when a broker answered the client within `window` seconds, or it started less long ago.

    Starts the client's metadata probe (a separate admin connection, one request every
    `probe_interval` seconds, each bounded by `timeout`) on the first call; answers at once.
    """
    contact = client.broker_contact
    contact.start_probe(interval=probe_interval, timeout=timeout)
    healthy, detail = contact.alive(window)
    return Health(healthy, detail)


class ProgressCheck:
    """Unhealthy when an assigned partition is stuck: it has records past its committed offset and
    the committed offset has not moved for `stuck_after` seconds, or the handler in flight has run
    longer than that. A consumer with nothing to do is ready.

    Reads the offsets of the consumer's last statistics report (librdkafka's, every second while the
    consumer polls) and never calls into the consumer. `timeout` is accepted for compatibility and
    unused: the check makes no request. `min_interval` makes calls in between return the last result.
    """

    def __init__(
        self,
        consumer: _HasProgress,
        *,
        stuck_after: float = DEFAULT_STUCK_AFTER,
        timeout: float | None = None,
        min_interval: float = 0.0,
    ) -> None:
        self._consumer = consumer
        self._stuck_after = stuck_after
        self._min_interval = min_interval
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
            self._last = self._evaluate(now)
            self._last_at = now
            return self._last

    def _evaluate(self, now: float) -> Health:
        partitions, in_flight_since = self._consumer.progress()
        checks: dict[str, str] = {}
        stuck = []
        if in_flight_since is not None and now - in_flight_since > self._stuck_after:
            checks["handler"] = f"in flight for {now - in_flight_since:.0f}s"
            stuck.append("the handler in flight")
        for (topic, partition), state in sorted(partitions.items()):
            name = f"{topic}[{partition}]"
            committed = max(state.committed, 0)
            if state.end < 0:
                checks[name] = "no offsets yet"
            elif state.end > committed and now - state.committed_since > self._stuck_after:
                checks[name] = f"stuck at {committed} for {now - state.committed_since:.0f}s, end {state.end}"
                stuck.append(name)
            else:
                checks[name] = f"committed {committed} of {state.end}"
        if stuck:
            return Health(False, f"no progress on {', '.join(stuck)}", checks)
        if not partitions:
            return Health(True, "no partitions assigned", checks)
        return Health(True, f"{len(partitions)} partition(s) progressing or caught up", checks)


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
    consumer: Any | None = None,
    producer: Any | None = None,
    *,
    registry: CollectorRegistry | None = None,
    host: str = "0.0.0.0",
    port: int = 0,
    timeout: float = 5.0,
    min_interval: float = 0.0,
    window: float = DEFAULT_WINDOW,
    stuck_after: float = DEFAULT_STUCK_AFTER,
    probe_interval: float = 5.0,
) -> HealthServer:
    """A HealthServer for a service's clients: `/livez` from each client's broker contact (their
    metadata probes start now), `/readyz` from the consumer's progress (the producer's liveness when
    there is no consumer)."""
    clients: list[_HasContact] = [client for client in (consumer, producer) if client is not None]
    if not clients:
        raise ValueError("serve_health needs a consumer or a producer")
    for client in clients:
        client.broker_contact.start_probe(interval=probe_interval, timeout=timeout)

    def live() -> Health:
        results = [liveness(client, timeout, window=window, probe_interval=probe_interval) for client in clients]
        return Health(all(results), "; ".join(result.detail for result in results))

    progress = None if consumer is None else ProgressCheck(consumer, stuck_after=stuck_after, min_interval=min_interval)
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
