"""The conformance scenarios: one list, run for every language by tests/test_conformance.py.

Each scenario drives the language's driver (PROTOCOL.md) on the session's broker and checks what
docs/runtime.md promises, from outside only: the records in the topic and its `.dlq` with their
headers, the group's committed offsets, the handler calls the driver reports, `/metrics`,
`/livez` and `/readyz`, and the spans the driver exports.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from registry_contracts.email.v1.email_pb2 import EmailMessage
from registry_contracts.topics import EMAIL_DISPATCH_V1

from tests.conformance.harness import (
    Harness,
    Letter,
    Run,
    free_port,
    http_get,
    sample,
    scrape,
    silent_address,
    stop,
)

DLQ_HEADERS = frozenset(
    {
        "contracts_dlq_reason",
        "contracts_dlq_error",
        "contracts_dlq_topic",
        "contracts_dlq_partition",
        "contracts_dlq_offset",
        "contracts_dlq_group",
        "contracts_dlq_attempts",
        "contracts_dlq_first_failure_time",
        "contracts_dlq_last_failure_time",
    }
)
ANSWER_BOUND = 1.0  # docs/runtime.md: every health answer within 1 s
FAST_FAILURE_BOUND = 5.0  # refused: "typically well under a second"; generous for a loaded machine
STUCK_AFTER = 30.0
LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
LAG_BUCKETS = [
    0.005,
    0.01,
    0.05,
    0.1,
    0.5,
    1.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
]  # docs/runtime.md: a partition is stuck after 30 s without progress


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Harness], None]

    def __str__(self) -> str:
        return self.name


def calls_per_zone(run: Run) -> Counter[str]:
    return Counter(event["zone_id"] for event in run.handled())


def check_letter(h: Harness, letter: Letter, *, original_offset: int, reason: str, attempts: int) -> None:
    """A dead letter carries the original record and exactly the documented contracts_dlq_* headers."""
    [original] = [record for record in h.read(h.topic, original_offset + 1) if record.offset == original_offset]
    assert (letter.key, letter.value) == (original.key, original.value), "key and value are the original's"
    own = [(name, value) for name, value in letter.headers if not name.startswith("contracts_dlq_")]
    assert own == original.headers, "the original headers, in order"
    dlq = letter.dlq_headers()
    assert set(dlq) == DLQ_HEADERS, sorted(dlq)
    assert len([name for name, _ in letter.headers if name.startswith("contracts_dlq_")]) == len(DLQ_HEADERS)
    assert dlq["contracts_dlq_reason"] == reason.encode()
    assert dlq["contracts_dlq_topic"] == h.topic.encode()
    assert dlq["contracts_dlq_partition"] == b"0"
    assert dlq["contracts_dlq_offset"] == str(original_offset).encode()
    assert dlq["contracts_dlq_group"] == h.group.encode()
    assert dlq["contracts_dlq_attempts"] == str(attempts).encode()
    error = dlq["contracts_dlq_error"]
    assert error and b"\n" not in error and len(error.decode()) <= 1000
    first = rfc3339_millis(dlq["contracts_dlq_first_failure_time"])
    last = rfc3339_millis(dlq["contracts_dlq_last_failure_time"])
    assert first <= last


def rfc3339_millis(value: bytes) -> datetime:
    text = value.decode()
    assert text.endswith("Z") and len(text) == len("2026-01-01T00:00:00.000Z"), text
    return datetime.fromisoformat(text)


# --- handler failures ---------------------------------------------------------------------


def handler_failure_then_success(h: Harness) -> None:
    h.create_topics()
    h.write("ok-0", "fail-2-1", "ok-2")
    run = h.consume_until_stopped(3, attempts=3)
    assert calls_per_zone(run) == {"ok-0": 1, "fail-2-1": 3, "ok-2": 1}
    attempts = [(event["attempt"], event["ok"]) for event in run.handled() if event["zone_id"] == "fail-2-1"]
    assert attempts == [(1, False), (2, False), (3, True)]
    assert h.read(h.dlq, 0, timeout=1) == []
    assert h.committed() == {0: 3}


def permanent_handler_failure(h: Harness) -> None:
    h.create_topics()
    h.write("ok-0", "always-1", "ok-2")
    run = h.consume_until_stopped(3, attempts=3)
    assert calls_per_zone(run) == {"ok-0": 1, "always-1": 3, "ok-2": 1}
    [letter] = h.read(h.dlq, 1)
    check_letter(h, letter, original_offset=1, reason="handler", attempts=3)
    assert h.committed() == {0: 3}


def wrong_type(h: Harness) -> None:
    h.create_topics()
    other = EMAIL_DISPATCH_V1.encode(EmailMessage(message_id="m-1"))  # a valid record of another binding
    without_type = h.encode("ok-9")
    without_type = without_type._replace(headers=[(n, v) for n, v in without_type.headers if n != "ce_type"])
    h.write("ok-0", other._replace(topic=h.topic), without_type, "ok-3")
    run = h.consume_until_stopped(4)
    assert calls_per_zone(run) == {"ok-0": 1, "ok-3": 1}  # never handed to the handler
    letters = h.read(h.dlq, 2)
    assert [letter.header("contracts_dlq_offset") for letter in letters] == [b"1", b"2"]
    for letter, offset in zip(letters, (1, 2), strict=True):
        check_letter(h, letter, original_offset=offset, reason="wrong-type", attempts=0)
    assert h.committed() == {0: 4}


def undecodable(h: Harness) -> None:
    h.create_topics()
    good = h.encode("ok-9")
    # Field 1 says 16 bytes follow, 8 do; then a proto3 string that is not UTF-8.
    h.write("ok-0", good._replace(value=b"\x0a\x10garbage!"), good._replace(value=b"\x0a\x02\xff\xfe"), "ok-3")
    run = h.consume_until_stopped(4)
    assert calls_per_zone(run) == {"ok-0": 1, "ok-3": 1}
    letters = h.read(h.dlq, 2)
    for letter, offset in zip(letters, (1, 2), strict=True):
        check_letter(h, letter, original_offset=offset, reason="decode", attempts=0)
    assert h.committed() == {0: 4}


def batch_with_one_bad_record(h: Harness) -> None:
    h.create_topics()
    zones = [f"ok-{n}" for n in range(8)]
    zones[5] = "always-5"
    h.write(*zones)
    run = h.consume_until_stopped(8, mode="batch", batch_max=8, attempts=2)
    handled = run.handled()
    assert any(event["batch_size"] > 1 for event in handled), "no batch of more than one record"
    bad = [event for event in handled if event["zone_id"] == "always-5"]
    assert not any(event["ok"] for event in bad)
    solo = [event for event in bad if event["batch_size"] == 1]
    assert len(solo) == 2, "the bad record alone, with its own attempts"
    for zone in zones:
        if zone != "always-5":
            assert any(e["zone_id"] == zone and e["ok"] for e in handled), f"{zone} was never handled"
    [letter] = h.read(h.dlq, 1)  # only the bad record: its neighbours are not dead-lettered
    # Every call that contained it: the batch's attempts and its own.
    check_letter(h, letter, original_offset=5, reason="handler", attempts=len(bad))
    assert h.committed() == {0: 8}


# --- shutdown and restart -----------------------------------------------------------------


def sigterm_mid_batch(h: Harness) -> None:
    h.create_topics()
    h.write("ok-0")
    run = h.start("consume", mode="batch", batch_max=10)
    run.wait_started()
    run.wait_for(lambda r: bool(r.handled(ok=True)), 30, "the first batch")
    h.write("sleep-3000-1", "ok-2", "ok-3")
    time.sleep(2.0)  # fetched and in the 3 s handler by now
    signalled = time.monotonic()
    run.signal(signal.SIGTERM)
    code = run.wait_exit(10 + 3 + 5)
    assert code == 0, run.tail()
    assert run.of("stopped"), run.tail()
    assert time.monotonic() - signalled < 10 + 3
    handled = {event["offset"] for event in run.handled(ok=True)}
    # The batch in flight finished and was committed; nothing handled is left uncommitted.
    assert 1 in handled, f"the batch in flight was abandoned\n{run.tail()}"
    committed = h.committed().get(0, 0)
    assert committed == max(handled) + 1, (committed, sorted(handled))
    assert set(range(committed)) <= handled


def sigkill_and_restart(h: Harness) -> None:
    h.create_topics()
    h.write("ok-0", "ok-1", "sleep-4000-2", "ok-3")
    first = h.start("consume")
    first.wait_started()
    first.wait_for(lambda r: any(e["offset"] == 1 for e in r.handled(ok=True)), 30, "record 1 handled")
    time.sleep(1.0)  # inside the 4 s handler of record 2
    first.signal(signal.SIGKILL)
    first.wait_exit(10)
    assert not any(e["offset"] == 2 for e in first.handled()), "record 2 should still be in its handler"
    committed = h.committed().get(0, 0)
    assert committed <= 2
    h.move_group()
    second = h.consume_until_stopped(4 - committed, timeout=60)
    replayed = {e["offset"] for e in second.handled(ok=True)}
    assert {2, 3} <= replayed, "the record abandoned by SIGKILL is read again"
    assert {0, 1, 2, 3} == replayed | {e["offset"] for e in first.handled(ok=True)}
    assert h.committed() == {0: 4}


# --- health -------------------------------------------------------------------------------


def stuck_handler_seen_by_readyz(h: Harness) -> None:
    """A handler that blocks (and, beside it, a consumer in a long poll on an idle topic): /livez and
    /readyz of both answer within 1 s every time; /readyz of the stuck one turns 503 after 30 s."""
    h.create_topics()
    idle = Harness(h.language, h.drivers, h.bootstrap, h.admin, h.sasl)
    idle.create_topics()
    h.write("ok-0", "stuck-1", "ok-2")
    ports = {"stuck": free_port(), "idle": free_port()}
    runs = {
        "stuck": h.start("consume", http_port=ports["stuck"]),
        "idle": idle.start("consume", http_port=ports["idle"]),
    }
    try:
        for run in runs.values():
            run.wait_started()
        runs["stuck"].wait_for(lambda r: bool(r.handled(ok=True)), 30, "record 0 handled")
        stuck_since = time.monotonic()  # record 1's handler starts about now
        answers: dict[tuple[str, str], list[tuple[float, int, float]]] = {}
        while time.monotonic() - stuck_since < STUCK_AFTER + 6:
            for name, port in ports.items():
                for path in ("/livez", "/readyz"):
                    status, _, took = http_get(f"http://127.0.0.1:{port}{path}")
                    answers.setdefault((name, path), []).append((time.monotonic() - stuck_since, status, took))
            time.sleep(0.1)
    finally:
        idle.close()
    slowest = max(took for series in answers.values() for _, _, took in series)
    assert slowest < ANSWER_BOUND, f"a health answer took {slowest:.2f}s"
    for name in ports:
        assert {status for _, status, _ in answers[name, "/livez"]} == {200}, f"{name}: /livez"
    assert {status for _, status, _ in answers["idle", "/readyz"]} == {200}, "nothing to do is ready"
    ready = answers["stuck", "/readyz"]
    assert {status for at, status, _ in ready if at < STUCK_AFTER - 5} == {200}, ready
    assert {status for at, status, _ in ready if at > STUCK_AFTER + 4} == {503}, ready


# --- connecting ---------------------------------------------------------------------------


def connection_error(run: Run, bound: float) -> None:
    code = run.wait_exit(bound + 10)
    took = time.monotonic() - run.started_at
    [error] = run.of("error")
    assert (code, error["kind"]) == (3, "ConnectionError"), run.tail()
    assert took < bound, f"took {took:.1f}s"
    stderr = "".join(run.stderr)
    assert "Connection refused" not in stderr or stderr.count("Connection refused") <= 1, (
        "the client library's retry lines reached stderr:\n" + stderr[:2000]
    )


def unreachable_broker(h: Harness) -> None:
    refused = f"127.0.0.1:{free_port()}"
    for command in ("consume", "produce"):
        connection_error(h.start(command, KAFKA_BOOTSTRAP_SERVERS=refused), FAST_FAILURE_BOUND)
    with silent_address() as silent:
        run = h.start("consume", KAFKA_BOOTSTRAP_SERVERS=silent, timeout_ms=2000)
        connection_error(run, 2 + FAST_FAILURE_BOUND)
        assert time.monotonic() - run.started_at >= 1.9, "a silent address fails at the bound, not before"


def refused_credentials(h: Harness) -> None:
    broker = h.sasl()
    wrong = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",  # no KAFKA_SASL_MECHANISM: PLAIN by default
        "KAFKA_SASL_USERNAME": "alice",
        "KAFKA_SASL_PASSWORD": "not-alices-password",
    }
    for command in ("consume", "produce"):
        connection_error(h.start(command, **wrong), FAST_FAILURE_BOUND)


# --- metrics and traces -------------------------------------------------------------------


def metrics(h: Harness) -> None:
    h.create_topics()
    other = EMAIL_DISPATCH_V1.encode(EmailMessage(message_id="m-1"))._replace(topic=h.topic)
    h.write("ok-0", "ok-1", "always-2", other, "ok-4")
    port = free_port()
    run = h.start("consume", http_port=port, attempts=2)
    try:
        run.wait_started()
        run.wait_for(lambda r: any(e["offset"] == 4 for e in r.handled(ok=True)), 30, "record 4 handled")
        deadline = time.monotonic() + 10
        while True:  # the lag gauge follows the statistics the client receives: give it a report or two
            samples = scrape(port)
            lag = sample(samples, "contracts_consumer_lag_records", topic=h.topic, partition="0")
            # The handler reports a record before the runtime counts it: wait for the count too.
            done = sample(samples, "contracts_records_consumed_total", topic=h.topic) == 3
            if (lag == 0 and done) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert lag == 0, f"contracts_consumer_lag_records: {lag}"
        consumed = sample(samples, "contracts_records_consumed_total", topic=h.topic)
        assert consumed == 3, f"contracts_records_consumed_total: {consumed}"
        for reason in ("handler", "wrong-type"):
            dead = sample(samples, "contracts_records_dead_lettered_total", topic=h.topic, reason=reason)
            assert dead == 1, f"contracts_records_dead_lettered_total{{reason={reason}}}: {dead}"
        handled_count = sample(samples, "contracts_handle_duration_seconds_count", topic=h.topic)
        assert handled_count is not None and handled_count >= 3
        for name, bounds in (
            ("contracts_handle_duration_seconds_bucket", LATENCY_BUCKETS),
            ("contracts_end_to_end_lag_seconds_bucket", LAG_BUCKETS),
        ):
            found = sorted(
                float(dict(labels)["le"]) for key, labels in samples if key == name and ("topic", h.topic) in labels
            )
            assert found == [*bounds, float("inf")], f"{name} buckets: {found}"
    finally:
        assert stop(run) == 0, run.tail()


def traces_across_languages(h: Harness) -> None:
    """The consumer's `process` span is in the producer's trace, whichever language produced."""
    pairs = [("python", h.language)] if h.language == "python" else [("python", h.language), (h.language, "python")]
    for producer, consumer in pairs:
        pair = Harness(h.language, h.drivers, h.bootstrap, h.admin, h.sasl)  # a topic per pair
        try:
            pair.create_topics()
            trace_from(pair, producer, consumer)
        finally:
            pair.close()


def trace_from(h: Harness, producer: str, consumer: str) -> None:
    sent = h.start("produce", language=producer, count=1, keys=f"ok-from-{producer}")
    assert sent.wait_exit(30) == 0, sent.tail()
    [send_span] = [s for s in sent.of("span") if s["kind"] == "PRODUCER"]
    assert send_span["name"] == f"send {h.topic}"
    assert send_span["attributes"]["messaging.system"] == "kafka"
    assert send_span["attributes"]["messaging.destination.name"] == h.topic
    [record] = h.read(h.topic, 1)
    traceparent = record.header("traceparent")
    assert traceparent is not None and traceparent.decode().split("-")[1] == send_span["trace_id"]
    run = h.start("consume", language=consumer, stop_after=1)
    assert run.wait_exit(60) == 0, run.tail()
    spans = [s for s in run.of("span") if s["kind"] == "CONSUMER"]
    assert spans, f"{consumer} exported no CONSUMER span\n{run.tail()}"
    process = spans[-1]
    assert process["name"] == f"process {h.topic}"
    assert process["trace_id"] == send_span["trace_id"], (
        f"{producer} -> {consumer}: another trace; the record's traceparent {traceparent!r}, the span {process}"
    )
    assert process["parent_span_id"] is not None
    attributes = process["attributes"]
    assert attributes["messaging.system"] == "kafka"
    assert attributes["messaging.destination.name"] == h.topic
    assert attributes["messaging.consumer.group.name"] == h.group
    assert attributes["messaging.operation.type"] == "process"


SCENARIOS: list[Scenario] = [
    Scenario("handler-failure-then-success", handler_failure_then_success),
    Scenario("permanent-handler-failure", permanent_handler_failure),
    Scenario("wrong-type", wrong_type),
    Scenario("undecodable", undecodable),
    Scenario("batch-with-one-bad-record", batch_with_one_bad_record),
    Scenario("sigterm-mid-batch", sigterm_mid_batch),
    Scenario("sigkill-and-restart", sigkill_and_restart),
    Scenario("stuck-handler-seen-by-readyz", stuck_handler_seen_by_readyz),
    Scenario("unreachable-broker", unreachable_broker),
    Scenario("refused-credentials", refused_credentials),
    Scenario("metrics", metrics),
    Scenario("traces-across-languages", traces_across_languages),
]
