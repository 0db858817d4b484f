"""Every runtime over TLS with client certificates: the `kafka_ssl` broker (scripts/kafka --ssl).

docs/runtime.md ("Connecting"): a client reads KAFKA_SECURITY_PROTOCOL=SSL and the KAFKA_SSL_*
files, connects with the right ones, and fails with one ConnectionError as soon as the TLS
handshake has failed: the broker's certificate from another CA (wrong CA), no client
certificate, or one signed by a CA the broker does not trust. The Python runtime is tested
directly; then each language's conformance driver (tests/conformance/PROTOCOL.md, role
`produce`) is run as a user runs a service: configured only by the environment.

The bounds are behaviour bounds with margins for a loaded machine, not benchmarks.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from contracts_runtime import ConnectionError as ContractsConnectionError
from contracts_runtime import Producer, Topic
from registry_contracts.audit.v1.audit_pb2 import AuditEvent
from registry_contracts.topics import AUDIT_EVENTS_V1

from tests.kafka_broker import TLS_CASES, BrokerInfo
from tests.programs import build_go_and_rust

pytestmark = pytest.mark.kafka

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
LANGUAGES = ("python", "go", "rust")
FAILED_CASES = tuple(case for case in TLS_CASES if case != "good")
# A failed handshake: the broker's answer (milliseconds on loopback) plus a client's start-up.
REFUSED_BOUND_SECONDS = 3.0
# A driver process: interpreter or binary start-up, then the same.
DRIVER_REFUSED_BOUND_SECONDS = 5.0
DRIVER_TIMEOUT_SECONDS = 60.0
QUIET = logging.getLogger("tests.tls.librdkafka")
QUIET.addHandler(logging.NullHandler())


def connection_options(env: dict[str, str]) -> dict[str, str]:
    """KAFKA_SSL_CA_LOCATION -> ssl_ca_location, ...: the runtime's keyword arguments."""
    return {name.removeprefix("KAFKA_").lower(): value for name, value in env.items()}


@pytest.fixture(autouse=True)
def _no_kafka_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime reads KAFKA_* for what it is not told: the caller's own must not leak in."""
    for name in list(os.environ):
        if name.startswith("KAFKA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def topic(kafka_ssl: BrokerInfo) -> Topic[AuditEvent]:
    """A fresh topic (and its .dlq) on the TLS broker, bound to the example registry's AuditEvent."""
    name = f"tls.{uuid.uuid4().hex[:10]}"
    config: dict[str, Any] = {**kafka_ssl.client_config(), "logger": QUIET}
    admin = AdminClient(config)
    for future in admin.create_topics([NewTopic(name, 1, 1), NewTopic(f"{name}.dlq", 1, 1)]).values():
        future.result(timeout=15)
    return Topic(name=name, message_type=AuditEvent, key_field="zone_id", type_name=AUDIT_EVENTS_V1.type_name)


# ---------------------------------------------------------------------------------- Python, direct


def test_python_producer_sends_over_tls_with_the_kafka_ssl_variables(
    kafka_ssl: BrokerInfo, topic: Topic[AuditEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in kafka_ssl.env().items():
        monkeypatch.setenv(name, value)
    with Producer(topics=[topic]) as producer:
        delivery = producer.send(topic, AuditEvent(event_id="tls-1", zone_id="ok-tls")).result(timeout=30)
    assert (delivery.topic, delivery.offset) == (topic.name, 0)


@pytest.mark.parametrize("case", FAILED_CASES)
def test_python_producer_fails_at_once_with_a_connection_error(
    case: str, kafka_ssl: BrokerInfo, capfd: pytest.CaptureFixture[str]
) -> None:
    assert kafka_ssl.tls is not None
    options = connection_options({"KAFKA_BOOTSTRAP_SERVERS": kafka_ssl.bootstrap_servers, **kafka_ssl.tls.env(case)})
    started = time.monotonic()
    with pytest.raises(ContractsConnectionError) as raised:
        Producer(**options)  # type: ignore[arg-type]  # the keys are ConnectionOptions' names
    took = time.monotonic() - started
    assert took < REFUSED_BOUND_SECONDS, took
    message = str(raised.value)
    assert kafka_ssl.bootstrap_servers in message and "SSL" in message, message
    assert "\n" not in message
    # Said once, as the typed error: none of librdkafka's own lines on the terminal.
    out, err = capfd.readouterr()
    assert (out, err) == ("", ""), err


# -------------------------------------------------------------------------- every language's driver


@dataclass
class Drivers:
    """language -> the command that runs its conformance driver; why a language has none."""

    commands: dict[str, list[str]]
    missing: dict[str, str]


@pytest.fixture(scope="module")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> Drivers:
    """The drivers present in tests/conformance/, the compiled ones built here (incrementally:
    Go's build cache and the suite's CARGO_TARGET_DIR are shared with the conformance suite)."""
    found = Drivers({}, {})
    for language in LANGUAGES:
        if not (CONFORMANCE / language).is_dir():
            found.missing[language] = (
                f"no {language} conformance driver yet: tests/conformance/{language}/ does not exist"
            )
    if "python" not in found.missing:
        found.commands["python"] = [sys.executable, str(CONFORMANCE / "python" / "driver.py")]
    compiled = [language for language in ("go", "rust") if language not in found.missing]
    out = tmp_path_factory.mktemp("tls-drivers")
    if compiled == ["go", "rust"]:
        binaries = build_go_and_rust(CONFORMANCE, out, "tls-go", _rust_binary(), "the TLS tests")
        found.commands.update({language: [str(binary)] for language, binary in binaries.items()})
    elif compiled == ["go"]:  # the shared helper builds both; until the Rust driver exists, Go alone
        found.commands["go"] = [str(_build_go(out / "tls-go"))]
    elif compiled == ["rust"]:
        found.missing["rust"] = "tests/programs.py builds the Go and Rust drivers together: waiting for the Go one"
    return found


def _build_go(binary: Path) -> Path:
    result = subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=CONFORMANCE / "go", capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"building the Go conformance driver failed:\n{result.stderr}")
    return binary


def _rust_binary() -> str:
    manifest = tomllib.loads((CONFORMANCE / "rust" / "Cargo.toml").read_text())
    binaries = manifest.get("bin") or [{"name": manifest["package"]["name"]}]
    return str(binaries[0]["name"])


@dataclass(frozen=True)
class DriverRun:
    code: int
    events: list[dict[str, Any]]
    stderr: str
    seconds: float

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("event") == kind]


def run_driver(drivers: Drivers, language: str, env: dict[str, str]) -> DriverRun:
    if language in drivers.missing:
        pytest.skip(drivers.missing[language])
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("KAFKA_", "CONFORMANCE_"))}
    started = time.monotonic()
    result = subprocess.run(
        [*drivers.commands[language], "produce"],
        env={**clean, **env},
        cwd=CONFORMANCE.parents[1],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DRIVER_TIMEOUT_SECONDS,
        check=False,
    )
    seconds = time.monotonic() - started
    events = []
    for line in result.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            events.append({"event": "unparsable", "line": line})
    return DriverRun(result.returncode, events, result.stderr, seconds)


def driver_env(kafka_ssl: BrokerInfo, topic: Topic[AuditEvent], case: str) -> dict[str, str]:
    assert kafka_ssl.tls is not None
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_ssl.bootstrap_servers,
        **kafka_ssl.tls.env(case),
        "CONFORMANCE_TOPIC": topic.name,
        "CONFORMANCE_COUNT": "2",
        "CONFORMANCE_KEYS": "ok-tls-1,ok-tls-2",
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_driver_produces_over_tls(
    language: str, drivers: Drivers, kafka_ssl: BrokerInfo, topic: Topic[AuditEvent]
) -> None:
    run = run_driver(drivers, language, driver_env(kafka_ssl, topic, "good"))
    assert run.code == 0, f"{language} driver exited {run.code}: {run.events}\n{run.stderr[-2000:]}"
    produced = run.of("produced")
    assert [event["zone_id"] for event in produced] == ["ok-tls-1", "ok-tls-2"], run.events
    assert [event["offset"] for event in produced] == [0, 1]


@pytest.mark.parametrize("case", FAILED_CASES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_driver_fails_with_one_connection_error(
    language: str, case: str, drivers: Drivers, kafka_ssl: BrokerInfo, topic: Topic[AuditEvent]
) -> None:
    run = run_driver(drivers, language, driver_env(kafka_ssl, topic, case))
    assert run.code == 3, f"{language} driver exited {run.code}: {run.events}\n{run.stderr[-2000:]}"
    (error,) = run.of("error")
    assert error["kind"] == "ConnectionError", error
    assert not run.of("produced")
    assert run.seconds < DRIVER_REFUSED_BOUND_SECONDS, run.seconds
    # Reported once: the client library does not print a line per retry.
    assert run.stderr.count("\n") <= 1, run.stderr[-2000:]
