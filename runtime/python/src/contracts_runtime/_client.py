"""What producers and consumers share: connection options, the error callback, startup checks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException

from contracts_runtime.errors import KafkaConfigError

log = logging.getLogger("contracts_runtime")
# librdkafka's own log lines, routed through logging instead of raw stderr.
librdkafka_log = logging.getLogger("contracts_runtime.librdkafka")
_SLICE = 0.5


class MetadataClient(Protocol):
    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any: ...

    def poll(self, timeout: float = -1) -> object: ...


class ErrorWatch:
    """librdkafka's error callback: remembers the last error and the ones that end the client.

    Wrong credentials (`_AUTHENTICATION`) and fatal errors make every later call raise
    KafkaConfigError. `_ALL_BROKERS_DOWN` is only remembered: it explains a failed startup
    check, but at run time librdkafka reconnects by itself (a broker restart is not fatal).
    """

    def __init__(self, client_name: str) -> None:
        self._client_name = client_name
        self._lock = threading.Lock()
        self.last: KafkaError | None = None
        self.fatal: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        with self._lock:
            self.last = error
            if error.code() == KafkaError._AUTHENTICATION or error.fatal():
                self.fatal = error
        log.warning("%s: kafka error %s: %s", self._client_name, error.name(), error.str())

    def raise_if_fatal(self) -> None:
        fatal = self.fatal
        if fatal is not None:
            raise KafkaConfigError(f"{self._client_name}: {explain(fatal)}")


def explain(error: KafkaError) -> str:
    """A sentence for a KafkaError, with a hint for the usual configuration mistakes."""
    code = error.code()
    text = f"{error.name()}: {error.str()}"
    if code == KafkaError._AUTHENTICATION:
        return f"authentication failed ({text}); check KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD"
    if code in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE):
        return f"no broker reachable ({text}); check KAFKA_BOOTSTRAP_SERVERS and the network"
    return text


def check_connection(client: MetadataClient, settings: dict[str, str], watch: ErrorWatch, timeout: float) -> None:
    """Fetch cluster metadata within `timeout` seconds, or raise KafkaConfigError saying why not.

    Asks in short slices so that refused credentials fail at once instead of after `timeout`.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            client.list_topics(timeout=max(0.01, min(_SLICE, remaining)))
            break
        except KafkaException as error:
            client.poll(0)  # error callbacks run only from poll(): collect the reason librdkafka gave
            if watch.fatal is None and time.monotonic() < deadline:
                continue
            cause = watch.fatal or watch.last or error.args[0]
            reason = explain(cause) if isinstance(cause, KafkaError) else str(cause)
            when = "" if watch.fatal is not None else f" within {timeout:g}s"
            raise KafkaConfigError(
                f"cannot use Kafka at {settings.get('bootstrap.servers')} "
                f"(security.protocol={settings.get('security.protocol', 'PLAINTEXT')}){when}: {reason}"
            ) from error
    watch.raise_if_fatal()


def check_topics(client: MetadataClient, names: Iterable[str], timeout: float) -> None:
    """Raise KafkaConfigError naming every topic of `names` that does not exist or is not readable."""
    problems = []
    for name in names:
        try:
            metadata = client.list_topics(topic=name, timeout=timeout)
        except KafkaException as error:
            problems.append(f"{name} ({error.args[0]})")
            continue
        topic = metadata.topics.get(name)
        if topic is None:
            problems.append(f"{name} (missing)")
        elif topic.error is not None:
            problems.append(f"{name} ({topic.error.name()})")
    if problems:
        raise KafkaConfigError(
            f"topics not available: {', '.join(problems)}; create them (contracts apply) or check the client's ACLs"
        )
