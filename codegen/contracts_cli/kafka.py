"""How the CLI reaches Kafka (apply, docs): settings from flags, then KAFKA_* environment
variables, and a connected AdminClient.

The settings come from the runtime's `client_config`, so the CLI and the SDK read the same
variables the same way; they never come from the contract. Connecting is bounded in time, as
docs/runtime.md ("Connecting") asks of every client: a refused connection, wrong credentials or a
failed TLS handshake fail as soon as librdkafka reports them (well under a second on loopback);
an address that does not answer fails after CONNECT_TIMEOUT_SECONDS. Each failure is one
sentence saying what to check; librdkafka's own log lines are never printed.
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
from contracts_runtime.errors import ConfigError

from contracts_cli.errors import ContractsError

CONNECT_TIMEOUT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 30.0
# The connection check asks for metadata in slices this long and serves the error callback in
# between (it runs only from poll()), so a refusal ends the wait within one slice.
_PROBE_SECONDS = 0.1
_LIBRDKAFKA_GRACE_SECONDS = 5.0

# librdkafka logs every failed connection attempt; keep it out of the user's terminal
# (attach a handler to this logger to see it).
KAFKA_LOG = logging.getLogger("contracts.librdkafka")
KAFKA_LOG.addHandler(logging.NullHandler())

_TRANSPORT_HINT = (
    "check the bootstrap servers and the network, and whether the cluster needs "
    "KAFKA_SECURITY_PROTOCOL=SASL_SSL, SASL_PLAINTEXT or SSL"
)
_TLS_REJECTED_HINT = (
    "the broker rejected the TLS handshake: check the client certificate and key "
    "(KAFKA_SSL_CERTIFICATE_LOCATION, KAFKA_SSL_KEY_LOCATION); the broker may require one signed by a CA it trusts"
)
_HINTS = {
    KafkaError._AUTHENTICATION: "check the SASL username and password (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)",
    KafkaError._SSL: "check the TLS files (KAFKA_SSL_CA_LOCATION, KAFKA_SSL_CERTIFICATE_LOCATION, "
    "KAFKA_SSL_KEY_LOCATION) and KAFKA_SECURITY_PROTOCOL",
    KafkaError._RESOLVE: "check the host name in the bootstrap servers",
    KafkaError._TRANSPORT: _TRANSPORT_HINT,
    # Every bootstrap broker closed the connection with no transport error of its own (a PLAINTEXT
    # client on a TLS listener, for one): the same things to check.
    KafkaError._ALL_BROKERS_DOWN: _TRANSPORT_HINT,
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
    except ConfigError as error:
        message = str(error).replace("pass bootstrap_servers='host:9092'", "pass --bootstrap-servers HOST:PORT")
        raise ContractsError(message) from None
    return settings


# Errors that end the connection check at once. librdkafka would keep retrying after each of
# them, but a command is not a service: it reports and exits. `_TRANSPORT` alone is not among them,
# because with several bootstrap servers another may still answer; librdkafka follows it with
# `_ALL_BROKERS_DOWN` once every one of them has failed (a refused port, or a broker that closed
# the connection: a PLAINTEXT client on a TLS port, a client certificate the broker rejects).
_REFUSALS = frozenset({KafkaError._ALL_BROKERS_DOWN, KafkaError._AUTHENTICATION, KafkaError._SSL})


class _ErrorWatch:
    """librdkafka's error callback: the last error, and the first one that ends the wait."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: KafkaError | None = None
        self.refused: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        with self._lock:
            if error.code() != KafkaError._ALL_BROKERS_DOWN:  # a summary; the error before it says why
                self.last = error
            if self.refused is None and (error.fatal() or error.code() in _REFUSALS):
                self.refused = error

    def reason(self) -> KafkaError | None:
        """What to tell the user: the refusal itself, or for a summary the error that led to it."""
        with self._lock:
            if self.refused is not None and self.refused.code() != KafkaError._ALL_BROKERS_DOWN:
                return self.refused
            return self.last or self.refused


def client_settings(settings: Mapping[str, str]) -> dict[str, Any]:
    """Settings plus the quiet logger, for every client the CLI creates."""
    return {**settings, "logger": KAFKA_LOG}


def connect(settings: Mapping[str, str], timeout: float = CONNECT_TIMEOUT_SECONDS) -> AdminClient:
    """An AdminClient that has fetched cluster metadata, or ContractsError within `timeout` seconds."""
    watch = _ErrorWatch()
    config: dict[str, Any] = {
        # librdkafka gives up on a connection that never answers its first request after this long
        # (10 s by default, the same as our bound) and then reports every broker down: it would race
        # with the bound and make a silent address look like a refusal. Leave the bound to us.
        "api.version.request.timeout.ms": str(int((timeout + _LIBRDKAFKA_GRACE_SECONDS) * 1000)),
        **client_settings(settings),
        "error_cb": watch,
    }
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            admin.list_topics(timeout=max(0.01, min(_PROBE_SECONDS, remaining)))
            return admin
        except KafkaException:
            admin.poll(0)  # serves error_cb: how a refusal, a wrong password or a TLS failure shows
            if watch.refused is not None:
                raise _refused_error(settings, watch.reason() or watch.refused) from None
            if time.monotonic() >= deadline:
                raise _silent_error(settings, watch.reason(), timeout) from None


def _refused_error(settings: Mapping[str, str], cause: KafkaError) -> ContractsError:
    # "reach": no conversation with a broker (refused, closed); "connect": a broker answered and
    # turned the client away (credentials, TLS).
    verb = (
        "connect to" if cause.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL) or _tls_alert(cause) else "reach"
    )
    return ContractsError(f"cannot {verb} Kafka at {_where(settings)}: {_explain(cause)}")


def _silent_error(settings: Mapping[str, str], cause: KafkaError | None, timeout: float) -> ContractsError:
    # The error of a failed metadata request ("Broker transport failure", "Timed out") says nothing
    # the user can act on; what librdkafka reported on the way, if anything, does.
    reason = _explain(cause) if cause is not None else f"no bootstrap server answered; {_TRANSPORT_HINT}"
    return ContractsError(f"cannot reach Kafka at {_where(settings)} within {timeout:g}s: {reason}")


def _where(settings: Mapping[str, str]) -> str:
    where = settings.get("bootstrap.servers", f"${BOOTSTRAP_ENV}")
    return f"{where} ({settings.get('security.protocol', 'PLAINTEXT')})"


def _explain(cause: KafkaError) -> str:
    text = _one_line(f"{cause.name()}: {cause.str()}")
    hint = _TLS_REJECTED_HINT if _tls_alert(cause) else _HINTS.get(cause.code(), "")
    return f"{text}; {hint}" if hint else text


def _tls_alert(cause: KafkaError) -> bool:
    # A broker that requires a client certificate checks it after the TLS 1.3 handshake has
    # completed on the client's side: librdkafka then sees a transport error carrying the
    # broker's TLS alert, not _SSL.
    return cause.code() == KafkaError._TRANSPORT and "SSL alert" in cause.str()


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
