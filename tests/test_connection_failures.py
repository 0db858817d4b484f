"""How `contracts apply` and `contracts docs --bootstrap-servers` connect, and how they fail to.

docs/runtime.md ("Connecting") binds the CLI as it binds every client: a refused connection,
refused credentials or a failed TLS handshake fail as soon as the broker has said so; an address
that does not answer fails at the bound (10 s). Every failure is one line on stderr and exit 2:
no librdkafka log line, no traceback. The bounds below are behaviour bounds with generous margins
for a loaded machine (the command's own start-up and registry load are in them), not benchmarks.

Before this module's change a refused port or a rejected client certificate took the whole
10 s; the figures are in the report of issue 10.
"""

from __future__ import annotations

import re
import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from contracts_cli.kafka import CONNECT_TIMEOUT_SECONDS

from tests.kafka_broker import TLS_CASES, BrokerInfo
from tests.registry_fixtures import REPOSITORY, contracts_env, init_git_registry, run_contracts, session_cache

pytestmark = pytest.mark.kafka

# A refusal of any kind: the broker's answer (well under a second) plus the command's start-up.
REFUSED_BOUND_SECONDS = 3.0
# An address that never answers: the documented bound plus the command's start-up.
SILENT_BOUND_SECONDS = CONNECT_TIMEOUT_SECONDS + 3.0
COMMANDS = ("apply", "docs")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def error_line(self) -> str:
        """The one line a failure prints; fails the test if there is anything else on stderr."""
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got:\n{self.stderr}"
        assert lines[0].startswith("error: "), lines[0]
        return lines[0]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example registry in a git repository (docs reads its history), compiled once."""
    root = init_git_registry(tmp_path_factory.mktemp("registry"))
    shutil.copy2(REPOSITORY / "contracts.toml", root / "contracts.toml")
    return root


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory, registry: Path) -> dict[str, str]:
    """The CLI's environment without the caller's KAFKA_* settings: each test says what it connects to."""
    env = contracts_env(session_cache(tmp_path_factory))
    env = {name: value for name, value in env.items() if not name.startswith("KAFKA_")}
    # Compile the registry now, so that the timed runs below time connecting, not buf's first build.
    result = run_contracts(["lint"], registry, env)
    assert result.returncode == 0, result.stderr
    return env


def run(
    command: str,
    registry: Path,
    base_env: Mapping[str, str],
    bootstrap: str,
    env: Mapping[str, str] | None = None,
) -> Run:
    """`contracts apply` (for real, capped to one replica) or `contracts docs` against `bootstrap`."""
    if command == "apply":
        arguments = ["apply", "--bootstrap-servers", bootstrap, "--max-replication-factor", "1"]
    else:
        site = registry / "site"
        shutil.rmtree(site, ignore_errors=True)
        arguments = ["docs", "--out", str(site), "--bootstrap-servers", bootstrap]
    started = time.monotonic()
    result = run_contracts(arguments, registry, {**base_env, **(env or {})}, timeout=SILENT_BOUND_SECONDS + 30)
    return Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


def closed_port() -> str:
    """An address where nothing listens: the kernel refuses the connection at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


# ------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("command", COMMANDS)
def test_a_refused_port_fails_at_once(command: str, registry: Path, base_env: dict[str, str]) -> None:
    address = closed_port()
    result = run(command, registry, base_env, address)
    line = result.error_line
    assert result.code == 2
    assert line.startswith(f"error: cannot reach Kafka at {address} (PLAINTEXT): "), line
    assert "Connection refused" in line and "check the bootstrap servers" in line
    assert result.seconds < REFUSED_BOUND_SECONDS, result.seconds


@pytest.mark.parametrize("command", COMMANDS)
def test_wrong_sasl_credentials_fail_at_once(
    command: str, registry: Path, base_env: dict[str, str], kafka_sasl: BrokerInfo
) -> None:
    env = {**kafka_sasl.env(), "KAFKA_SASL_PASSWORD": "not-the-password"}
    result = run(command, registry, base_env, kafka_sasl.bootstrap_servers, env)
    line = result.error_line
    assert result.code == 2
    assert line.startswith(f"error: cannot connect to Kafka at {kafka_sasl.bootstrap_servers} (SASL_PLAINTEXT): ")
    assert "_AUTHENTICATION" in line and "check the SASL username and password" in line
    assert result.seconds < REFUSED_BOUND_SECONDS, result.seconds


@pytest.mark.parametrize("command", COMMANDS)
def test_an_address_that_never_answers_fails_at_the_bound(
    command: str, registry: Path, base_env: dict[str, str], unanswered_kafka_address: str
) -> None:
    result = run(command, registry, base_env, unanswered_kafka_address)
    line = result.error_line
    assert result.code == 2
    assert line.startswith(f"error: cannot reach Kafka at {unanswered_kafka_address} (PLAINTEXT) within 10s: "), line
    # It waited for the bound (a silent address is not a refusal), and no longer.
    assert CONNECT_TIMEOUT_SECONDS - 0.5 <= result.seconds < SILENT_BOUND_SECONDS, result.seconds


# ------------------------------------------------------------------------------------------- TLS


def test_apply_creates_the_topics_over_tls_with_the_kafka_ssl_variables(
    registry: Path, base_env: dict[str, str], kafka_ssl: BrokerInfo
) -> None:
    result = run("apply", registry, base_env, kafka_ssl.bootstrap_servers, kafka_ssl.env())
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"Plan for {kafka_ssl.bootstrap_servers} (1 broker(s)"), result.stdout
    again = run("apply", registry, base_env, kafka_ssl.bootstrap_servers, kafka_ssl.env())
    assert again.code == 0, again.stderr
    assert "No changes" in again.stdout


def test_docs_reads_the_cluster_over_tls_with_the_kafka_ssl_variables(
    registry: Path, base_env: dict[str, str], kafka_ssl: BrokerInfo
) -> None:
    applied = run("apply", registry, base_env, kafka_ssl.bootstrap_servers, kafka_ssl.env())
    assert applied.code == 0, applied.stderr
    result = run("docs", registry, base_env, kafka_ssl.bootstrap_servers, kafka_ssl.env())
    assert result.code == 0, result.stderr
    index = (registry / "site" / "index.html").read_text(encoding="utf-8")
    # Each topic's cluster column: what the broker said, not "missing".
    assert re.search(r"\d+ partitions, \d+ records written", index)
    assert '<span class="tag warn">missing</span>' not in index


def test_apply_takes_the_tls_files_as_flags_too(
    registry: Path, base_env: dict[str, str], kafka_ssl: BrokerInfo
) -> None:
    assert kafka_ssl.tls is not None
    flags = [
        "--security-protocol=SSL",
        f"--ssl-ca-location={kafka_ssl.tls.ca}",
        f"--ssl-certificate-location={kafka_ssl.tls.client_certificate}",
        f"--ssl-key-location={kafka_ssl.tls.client_key}",
    ]
    # The variables name the wrong CA: the flags win.
    env = {**base_env, **kafka_ssl.tls.env("wrong-ca")}
    result = run_contracts(
        [
            "apply",
            "--dry-run",
            "--bootstrap-servers",
            kafka_ssl.bootstrap_servers,
            "--max-replication-factor",
            "1",
            *flags,
        ],
        registry,
        env,
    )
    assert result.returncode == 0, result.stderr


# What each failed case says: the verb, and what to check.
TLS_FAILURES = {
    "wrong-ca": ("_SSL", "certificate verify failed", "check the TLS files"),
    "no-client-certificate": ("_TRANSPORT", "alert", "the broker rejected the TLS handshake"),
    "untrusted-client-certificate": ("_TRANSPORT", "alert", "the broker rejected the TLS handshake"),
}


@pytest.mark.parametrize("case", [case for case in TLS_CASES if case != "good"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_failed_tls_handshake_fails_at_once_with_one_line(
    command: str, case: str, registry: Path, base_env: dict[str, str], kafka_ssl: BrokerInfo
) -> None:
    assert kafka_ssl.tls is not None
    result = run(command, registry, base_env, kafka_ssl.bootstrap_servers, kafka_ssl.tls.env(case))
    line = result.error_line
    assert result.code == 2
    assert line.startswith(f"error: cannot connect to Kafka at {kafka_ssl.bootstrap_servers} (SSL): "), line
    assert all(part in line for part in TLS_FAILURES[case]), line
    assert result.seconds < REFUSED_BOUND_SECONDS, result.seconds
    assert result.stdout == ""


def test_a_plaintext_client_on_the_tls_port_fails_at_once(
    registry: Path, base_env: dict[str, str], kafka_ssl: BrokerInfo
) -> None:
    result = run("apply", registry, base_env, kafka_ssl.bootstrap_servers)
    line = result.error_line
    assert result.code == 2
    assert line.startswith(f"error: cannot reach Kafka at {kafka_ssl.bootstrap_servers} (PLAINTEXT): "), line
    assert "KAFKA_SECURITY_PROTOCOL=SASL_SSL, SASL_PLAINTEXT or SSL" in line
    assert result.seconds < REFUSED_BOUND_SECONDS, result.seconds
