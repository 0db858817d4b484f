"""Real local Kafka brokers for the tests, started and stopped through `scripts/kafka`.

The script does the work (install, config, start, readiness wait, stop); this module only calls
it and turns its `KEY=VALUE` output into a `BrokerInfo`. Typical fixture:

    info = start_broker("sasl", tmp_path_factory.mktemp("kafka"))
    yield info
    stop_broker(info)

Brokers started here are also stopped when the Python process exits, so an interrupted test run
does not leave JVMs behind.
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
KAFKA_SCRIPT = REPO_ROOT / "scripts" / "kafka"
KINDS = ("plain", "sasl", "ssl")
# The ways a client can meet the --ssl broker; only "good" connects (TlsFiles.env).
TLS_CASES = ("good", "wrong-ca", "no-client-certificate", "untrusted-client-certificate")

# Longer than the script's own bounds (Maven install on a cold cache + 60 s readiness wait), so
# the script reports its own failure with the broker's log instead of being killed silently.
START_TIMEOUT_SECONDS = 240.0
STOP_TIMEOUT_SECONDS = 60.0

_started_here: set[Path] = set()


class BrokerError(RuntimeError):
    """scripts/kafka failed; the message carries its stderr (the broker's last log lines)."""


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files `scripts/kafka start --ssl` made in DIR/tls; see `env` for the usual case."""

    directory: Path

    @property
    def ca(self) -> Path:
        """The CA that signed the broker's and the client's certificates."""
        return self.directory / "ca.pem"

    @property
    def client_certificate(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client.key"

    @property
    def other_ca(self) -> Path:
        """An unrelated CA: trusting only it, a client cannot verify the broker."""
        return self.directory / "other-ca.pem"

    @property
    def other_client_certificate(self) -> Path:
        """A client certificate the unrelated CA signed: the broker rejects it."""
        return self.directory / "other-client.pem"

    @property
    def other_client_key(self) -> Path:
        return self.directory / "other-client.key"

    def env(self, case: str = "good") -> dict[str, str]:
        """KAFKA_SECURITY_PROTOCOL and KAFKA_SSL_* for one of TLS_CASES.

        good: what `start` printed. wrong-ca: trusts only the unrelated CA, so the broker's
        certificate does not verify. no-client-certificate: trusts the right CA, offers no
        certificate. untrusted-client-certificate: offers one the unrelated CA signed.
        """
        ca, certificate, key = self.ca, self.client_certificate, self.client_key
        if case == "wrong-ca":
            ca = self.other_ca
        elif case == "untrusted-client-certificate":
            certificate, key = self.other_client_certificate, self.other_client_key
        elif case not in ("good", "no-client-certificate"):
            message = f"case must be one of {TLS_CASES}, not {case!r}"
            raise ValueError(message)
        env = {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_LOCATION": str(ca)}
        if case != "no-client-certificate":
            env["KAFKA_SSL_CERTIFICATE_LOCATION"] = str(certificate)
            env["KAFKA_SSL_KEY_LOCATION"] = str(key)
        return env


@dataclass(frozen=True)
class BrokerInfo:
    """How to reach one running broker. SASL fields are None / empty unless kind is sasl; `tls` is
    set only when kind is ssl."""

    bootstrap_servers: str
    kind: str
    admin_username: str | None
    admin_password: str | None
    users: dict[str, str]
    state_dir: Path
    tls: TlsFiles | None = None

    @property
    def is_sasl(self) -> bool:
        return self.kind == "sasl"

    def env(self) -> dict[str, str]:
        """The KAFKA_* variables `scripts/kafka start` printed: what a client needs to connect."""
        return _parse_env_lines((self.state_dir / "env").read_text())

    def client_config(self, username: str | None = None) -> dict[str, str]:
        """librdkafka settings to connect, as `username` (default: admin) on a SASL broker."""
        config = {"bootstrap.servers": self.bootstrap_servers}
        if self.tls is not None:
            config.update(
                {
                    "security.protocol": "SSL",
                    "ssl.ca.location": str(self.tls.ca),
                    "ssl.certificate.location": str(self.tls.client_certificate),
                    "ssl.key.location": str(self.tls.client_key),
                }
            )
        if not self.is_sasl:
            if username is not None:
                message = f"a {self.kind} broker has no users"
                raise ValueError(message)
            return config
        name = username or self.admin_username
        if name is None or name not in self.users:
            known = ", ".join(sorted(self.users))
            message = f"unknown user {name!r}; known users: {known}"
            raise ValueError(message)
        config.update(
            {
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "PLAIN",
                "sasl.username": name,
                "sasl.password": self.users[name],
            }
        )
        return config


def start_broker(
    kind: str = "plain",
    state_dir: Path | None = None,
    *,
    port: int | None = None,
) -> BrokerInfo:
    """Start a fresh single-node broker (or reuse the one already running in `state_dir`).

    `state_dir` defaults to the script's own default, `.kafka/<kind>` in the repository.
    Raises BrokerError with the broker's last log lines if it does not come up.
    """
    if kind not in KINDS:
        message = f"kind must be one of {KINDS}, not {kind!r}"
        raise ValueError(message)
    directory = (state_dir or REPO_ROOT / ".kafka" / kind).resolve()
    status = _run_script("status", "--dir", str(directory), timeout=STOP_TIMEOUT_SECONDS)
    was_running = status.returncode == 0

    arguments = ["start", "--dir", str(directory)]
    if kind != "plain":
        arguments.append(f"--{kind}")
    if port is not None:
        arguments += ["--port", str(port)]
    try:
        result = _run_script(*arguments, timeout=START_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as timeout:
        _run_script("stop", "--dir", str(directory), timeout=STOP_TIMEOUT_SECONDS)
        message = f"scripts/kafka start did not return within {timeout.timeout:.0f} s"
        raise BrokerError(message) from timeout
    if result.returncode != 0:
        message = f"scripts/kafka {' '.join(arguments)} failed:\n{result.stderr}"
        raise BrokerError(message)
    if not was_running:
        _started_here.add(directory)

    values = _parse_env_lines(result.stdout)
    users = _read_users(directory / "sasl-users") if kind == "sasl" else {}
    return BrokerInfo(
        bootstrap_servers=values["KAFKA_BOOTSTRAP_SERVERS"],
        kind=kind,
        admin_username=values.get("KAFKA_SASL_USERNAME"),
        admin_password=values.get("KAFKA_SASL_PASSWORD"),
        users=users,
        state_dir=directory,
        tls=TlsFiles(directory / "tls") if kind == "ssl" else None,
    )


def stop_broker(info: BrokerInfo) -> None:
    """Stop the broker (SIGTERM, then SIGKILL after a bounded wait). Stopping twice is fine."""
    _stop_dir(info.state_dir)


def _stop_dir(directory: Path) -> None:
    result = _run_script("stop", "--dir", str(directory), timeout=STOP_TIMEOUT_SECONDS)
    _started_here.discard(directory)
    if result.returncode != 0:
        message = f"scripts/kafka stop --dir {directory} failed:\n{result.stderr}"
        raise BrokerError(message)


def _run_script(*arguments: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAFKA_SCRIPT), *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _parse_env_lines(stdout: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in stdout.splitlines():
        key, separator, value = line.partition("=")
        if separator:
            values[key.strip()] = value.strip()
    if "KAFKA_BOOTSTRAP_SERVERS" not in values:
        message = f"scripts/kafka start printed no KAFKA_BOOTSTRAP_SERVERS line:\n{stdout}"
        raise BrokerError(message)
    return values


def _read_users(path: Path) -> dict[str, str]:
    """DIR/sasl-users, written by the script: one NAME=PASSWORD a line."""
    users: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, _, password = line.partition("=")
        if name:
            users[name] = password
    return users


@atexit.register
def _stop_brokers_started_here() -> None:
    # Best effort at interpreter exit: a failure here must not hide the test run's own result.
    for directory in list(_started_here):
        with contextlib.suppress(BrokerError, OSError, subprocess.TimeoutExpired):
            _stop_dir(directory)
