"""How the CLI reaches Kafka (apply, docs): settings from flags, then KAFKA_* environment
variables, and a connected AdminClient.

The settings come from the runtime's `client_config`, so the CLI and the SDK read the same
variables the same way; they never come from the contract. Connecting is bounded in time:
wrong credentials fail as soon as the broker says so, an unreachable cluster after
CONNECT_TIMEOUT_SECONDS, each with one sentence saying what to check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from contracts_runtime.config import BOOTSTRAP_ENV, client_config
from contracts_runtime.errors import KafkaConfigError

from contracts_cli.errors import ContractsError

CONNECT_TIMEOUT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 30.0
_PROBE_SECONDS = 0.5

# librdkafka logs every failed connection attempt; keep it out of the user's terminal
# (attach a handler to this logger to see it).
KAFKA_LOG = logging.getLogger("contracts.librdkafka")
KAFKA_LOG.addHandler(logging.NullHandler())

_HINTS = {
    KafkaError._AUTHENTICATION: "check the SASL username and password (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)",
    KafkaError._SSL: "check the TLS files (KAFKA_SSL_*) and KAFKA_SECURITY_PROTOCOL",
    KafkaError._RESOLVE: "check the host name in the bootstrap servers",
    KafkaError._TRANSPORT: "check the bootstrap servers and the network, and whether the cluster needs "
    "KAFKA_SECURITY_PROTOCOL=SASL_SSL, SASL_PLAINTEXT or SSL",
}


@dataclass(frozen=True)
class ConnectionFlags:
    """What the command line said; None means 'use the environment variable'."""

    bootstrap_servers: str | None = None
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None


def kafka_settings(flags: ConnectionFlags, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """librdkafka settings from flags and KAFKA_* variables; ContractsError when they cannot work."""
    try:
        settings = client_config(**asdict(flags), environ=environ)
    except KafkaConfigError as error:
        message = str(error).replace("pass bootstrap_servers='host:9092'", "pass --bootstrap-servers HOST:PORT")
        raise ContractsError(message) from None
    return settings


class _ErrorWatch:
    """librdkafka's error callback: the last error, and the first one that retrying cannot fix."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: KafkaError | None = None
        self.fatal: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        with self._lock:
            if error.code() != KafkaError._ALL_BROKERS_DOWN:  # a summary; the error before it says why
                self.last = error
            if self.fatal is None and (error.fatal() or error.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL)):
                self.fatal = error


def client_settings(settings: Mapping[str, str]) -> dict[str, Any]:
    """Settings plus the quiet logger, for every client the CLI creates."""
    return {**settings, "logger": KAFKA_LOG}


def connect(settings: Mapping[str, str], timeout: float = CONNECT_TIMEOUT_SECONDS) -> AdminClient:
    """An AdminClient that has fetched cluster metadata, or ContractsError within `timeout` seconds."""
    watch = _ErrorWatch()
    config: dict[str, Any] = {**client_settings(settings), "error_cb": watch}
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin.list_topics(timeout=_PROBE_SECONDS)
            return admin
        except KafkaException as error:
            admin.poll(0)  # serves error_cb, which is how a wrong password shows
            if watch.fatal is not None or time.monotonic() >= deadline:
                raise _connect_error(settings, watch.fatal or watch.last or error.args[0], timeout) from None


def _connect_error(settings: Mapping[str, str], cause: object, timeout: float) -> ContractsError:
    where = settings.get("bootstrap.servers", f"${BOOTSTRAP_ENV}")
    protocol = settings.get("security.protocol", "PLAINTEXT")
    if isinstance(cause, KafkaError):
        hint = _HINTS.get(cause.code(), "")
        reason = f"{cause.name()}: {cause.str()}" + (f"; {hint}" if hint else "")
        if cause.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL):
            return ContractsError(f"cannot connect to Kafka at {where} ({protocol}): {reason}")
    else:
        reason = str(cause)
    return ContractsError(f"cannot reach Kafka at {where} ({protocol}) within {timeout:g}s: {reason}")


def failure(error: BaseException) -> KafkaError | None:
    """The KafkaError inside an exception raised by an admin future, if it is one."""
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return error.args[0]
    return None


def describe_failure(error: BaseException) -> str:
    kafka_error = failure(error)
    if kafka_error is None:
        return str(error)
    return f"{kafka_error.name()}: {kafka_error.str()}"
