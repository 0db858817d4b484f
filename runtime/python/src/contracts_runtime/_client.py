"""What producers and consumers share: the error callback, librdkafka's log lines, startup checks,
and `BrokerContact`, the state the health checks read instead of calling into a busy client."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from contracts_runtime.errors import ConfigError, ConnectionError

log = logging.getLogger("contracts_runtime")
# librdkafka's own log lines, routed through logging at DEBUG: a refused connection is reported
# once, as the typed error, not as a line per retry on stderr (Python's last-resort handler would
# print them: it shows WARNING and above of a logger nobody configured).
librdkafka_log = logging.getLogger("contracts_runtime.librdkafka")
# Startup checks ask for metadata in slices this long, serving the error callback in between, so
# that what librdkafka learns (refused, bad credentials) ends the wait at once.
_SLICE: Final = 0.1
# Errors that say no bootstrap broker can be used: a startup check ends on the first of them.
_CONNECT_FAILURES: Final = frozenset({KafkaError._ALL_BROKERS_DOWN, KafkaError._AUTHENTICATION, KafkaError._SSL})
# Errors librdkafka repeats on every reconnection attempt: logged at WARNING once per run.
_REPEATED_LOG_SECONDS: Final = 60.0


class _DebugLog:
    """The `logger` librdkafka is given: every line at DEBUG on `contracts_runtime.librdkafka`."""

    def log(self, level: int, message: str, *args: object) -> None:
        if librdkafka_log.isEnabledFor(logging.DEBUG):
            librdkafka_log.debug(message, *args)


LIBRDKAFKA_LOGGER: Final = _DebugLog()


class MetadataClient(Protocol):
    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any: ...

    def poll(self, timeout: float = -1) -> object: ...


class ErrorWatch:
    """librdkafka's error callback: remembers the last error and the ones that end the client.

    Wrong credentials (`_AUTHENTICATION`), failed TLS and fatal errors make every later call raise
    ConnectionError. `_ALL_BROKERS_DOWN` ends a startup check (every bootstrap broker refused), but
    at run time librdkafka reconnects by itself (a broker restart is not fatal).
    """

    def __init__(self, client_name: str, contact: BrokerContact | None = None) -> None:
        self._client_name = client_name
        self._contact = contact
        self._lock = threading.Lock()
        self.last: KafkaError | None = None
        self.fatal: KafkaError | None = None
        self.all_down: KafkaError | None = None
        self.starting = True  # errors while the startup check runs are its to report, once
        self._logged: tuple[int, float] = (0, 0.0)

    def __call__(self, error: KafkaError) -> None:
        code = error.code()
        with self._lock:
            if code != KafkaError._ALL_BROKERS_DOWN:  # a summary; the error before it says why
                self.last = error
            else:
                self.all_down = error
            if code in (KafkaError._AUTHENTICATION, KafkaError._SSL) or error.fatal():
                self.fatal = error
        if self._contact is not None:
            self._contact.failed(error)
        now = time.monotonic()
        logged_code, logged_at = self._logged
        if self.starting or (code == logged_code and now - logged_at < _REPEATED_LOG_SECONDS):
            log.debug("%s: kafka error %s: %s", self._client_name, error.name(), error.str())
            return
        self._logged = (code, now)
        log.warning("%s: kafka error %s: %s", self._client_name, error.name(), error.str())

    def raise_if_fatal(self) -> None:
        fatal = self.fatal
        if fatal is not None:
            raise ConnectionError(f"{self._client_name}: {explain(fatal)}")


def explain(error: KafkaError) -> str:
    """A sentence for a KafkaError, with a hint for the usual configuration mistakes."""
    code = error.code()
    text = f"{error.name()}: {error.str()}"
    if code == KafkaError._AUTHENTICATION:
        return f"authentication failed ({text}); check KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD"
    if code == KafkaError._SSL:
        return f"TLS failed ({text}); check the KAFKA_SSL_* files and KAFKA_SECURITY_PROTOCOL"
    if code in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE):
        return f"no broker reachable ({text}); check KAFKA_BOOTSTRAP_SERVERS and the network"
    return text


def check_connection(client: MetadataClient, settings: Mapping[str, str], watch: ErrorWatch, timeout: float) -> None:
    """Fetch cluster metadata within `timeout` seconds, or raise ConnectionError saying why not.

    Ends as soon as librdkafka reports that every bootstrap broker refused the connection, the
    credentials or the TLS handshake; an address that does not answer fails at `timeout`.
    """
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            try:
                client.list_topics(timeout=max(0.01, min(_SLICE, remaining)))
                break
            except KafkaException as error:
                client.poll(0)  # error callbacks run only from poll(): collect the reason librdkafka gave
                refused = watch.fatal or watch.all_down
                if refused is None and time.monotonic() < deadline:
                    continue
                cause = watch.fatal or watch.last or refused or error.args[0]
                reason = explain(cause) if isinstance(cause, KafkaError) else str(cause)
                when = "" if refused is not None else f" within {timeout:g}s"
                raise ConnectionError(
                    f"cannot use Kafka at {settings.get('bootstrap.servers')} "
                    f"(security.protocol={settings.get('security.protocol', 'PLAINTEXT')}){when}: {reason}"
                ) from error
        watch.raise_if_fatal()
    finally:
        watch.starting = False
    # Connected: what the broker-down summary said before (a slow first connection) is history.
    watch.all_down = None


def check_topics(client: MetadataClient, names: Iterable[str], timeout: float) -> None:
    """Raise ConfigError naming every topic of `names` that does not exist or is not readable."""
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
        raise ConfigError(
            f"topics not available: {', '.join(problems)}; create them (contracts apply) or check the client's ACLs"
        )


class BrokerContact:
    """When a broker last answered this client: what `/livez` reads, never the client itself.

    The client reports contact from what it sees anyway (a fetch, a delivery report, statistics
    that show a broker up); `start_probe()` adds a metadata request every few seconds on a
    separate admin connection, so that a consumer whose handler blocks still counts as connected
    while its brokers answer, and a dead broker shows within the window.
    """

    def __init__(self, name: str, probe_settings: Mapping[str, str]) -> None:
        self.name = name
        self._probe_settings = dict(probe_settings)
        self.started = time.monotonic()
        self.last_contact: float | None = None
        self.last_failure: str | None = None
        self._probe: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def contact(self, now: float | None = None) -> None:
        self.last_contact = time.monotonic() if now is None else now

    def failed(self, error: KafkaError) -> None:
        self.last_failure = f"{error.name()}: {error.str()}"

    def start_probe(self, interval: float = 5.0, timeout: float = 5.0) -> None:
        """Start the background metadata probe (once; later calls do nothing)."""
        with self._lock:
            if self._probe is not None or self._stop.is_set():
                return
            self._probe = threading.Thread(
                target=self._run_probe, args=(interval, timeout), name=f"contracts-probe-{self.name}", daemon=True
            )
            self._probe.start()

    def _run_probe(self, interval: float, timeout: float) -> None:
        watch = ErrorWatch(f"{self.name} (health probe)")
        watch.starting = False
        config: dict[str, Any] = {**self._probe_settings, "error_cb": watch, "logger": LIBRDKAFKA_LOGGER}
        admin = AdminClient(config)
        while not self._stop.is_set():
            try:
                admin.list_topics(timeout=timeout)
                self.contact()
            except KafkaException as error:
                self.last_failure = f"metadata probe: {error.args[0]}"
            admin.poll(0)
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        probe = self._probe
        if probe is not None and probe is not threading.current_thread():
            probe.join(10)

    def alive(self, window: float) -> tuple[bool, str]:
        """Whether a broker answered within `window` seconds (or the client is younger than that)."""
        now = time.monotonic()
        last = self.last_contact
        if last is not None and now - last < window:
            return True, f"{self.name}: a broker answered {now - last:.1f}s ago"
        if now - self.started < window:
            return True, f"{self.name}: started {now - self.started:.1f}s ago"
        since = "never" if last is None else f"{now - last:.0f}s ago"
        failure = f" ({self.last_failure})" if self.last_failure else ""
        return False, f"{self.name}: no broker answered within {window:g}s (last: {since}){failure}"


# librdkafka properties that only consumers know: left out of the settings of the clients a
# consumer makes (its dead-letter producer, its health probe): librdkafka would warn about each.
CONSUMER_ONLY_PREFIXES: Final = (
    "group.",
    "partition.assignment.",
    "session.timeout.",
    "heartbeat.",
    "coordinator.",
    "max.poll.",
    "enable.auto.",
    "auto.commit.",
    "auto.offset.",
    "queued.",
    "fetch.",
    "isolation.level",
    "enable.partition.eof",
    "check.crcs",
    "statistics.interval.ms",
)


def without_consumer_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in settings.items() if not key.startswith(CONSUMER_ONLY_PREFIXES)}
