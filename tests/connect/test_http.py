"""Kafka -> HTTP, at least once and idempotent: a local sink counts Idempotency-Keys."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.connect.conftest import Bindings, Connectors, committed_offsets, end_offsets, read_all, wait_for
from tests.connect.helpers import PREFERENCES, preferences_topic, produce

pytestmark = pytest.mark.kafka


class Sink:
    """Answers 503 to the first request of every tenth key, 422 to user-000013, 200 otherwise."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        self.bodies: dict[str, dict[str, object]] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers["Idempotency-Key"]
                with sink.lock:
                    sink.keys[key] += 1
                    first = sink.keys[key] == 1
                    sink.bodies[key] = body
                user = str(body.get("userId"))
                status = 422 if user == "user-000013" else 503 if first and user.endswith("0") else 200
                reply = b'{"error": "unknown user"}' if status == 422 else b"{}"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/contacts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def sink() -> Iterator[Sink]:
    running = Sink()
    yield running
    running.server.shutdown()


def test_http_writer_retries_dead_letters_and_keys(bindings: Bindings, connectors: Connectors, sink: Sink) -> None:
    total = 200
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id")})
    prefs = bindings.name("prefs")
    produce(bindings.bootstrap, preferences_topic(prefs), range(total))
    env = connectors.env(
        bindings,
        CONNECT_NAME="mailer",
        CONNECT_READER=f"kafka:{prefs}",
        CONNECT_WRITER=f"http:{sink.url}",
        CONNECT_TRANSFORMS="clear:changed_by",
    )
    connectors.start(env, "http")
    ends = end_offsets(bindings.bootstrap, prefs, 3)
    wait_for(
        lambda: committed_offsets(bindings.bootstrap, "mailer", prefs) == ends,
        60,
        "all offsets committed",
        lambda: connectors.log("http"),
    )
    assert len(sink.keys) == total  # every record arrived, each under its own ce_id
    retried = {key for key, count in sink.keys.items() if count > 1}
    assert len(retried) == 20  # the 503s were retried with the same key
    assert all(str(sink.bodies[key]["userId"]).endswith("0") for key in retried)
    dead = read_all(bindings.bootstrap, prefs + ".dlq", expect=1, timeout=20)
    assert len(dead) == 1
    headers = dead[0][2]
    assert headers["contracts_dlq_http_status"] == b"422"
    assert headers["contracts_dlq_http_response"] == b'{"error": "unknown user"}'
    assert headers["contracts_dlq_reason"] == b"handler"
    assert headers["ce_id"].decode() in sink.keys
