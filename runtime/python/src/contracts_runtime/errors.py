"""The errors a service sees: one base class, so `except ContractError` catches them all.

The kinds and their names are the same in every runtime (docs/runtime.md, "Errors").
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts_runtime.validation import Violation, describe


class ContractError(Exception):
    """Base class of every error raised by contracts_runtime."""


class WrongTypeError(ContractError):
    """A record's `ce_type` header is missing or names another message type than the topic's."""

    def __init__(self, topic: str, expected: str, actual: str | None) -> None:
        self.topic = topic
        self.expected = expected
        self.actual = actual
        found = "no ce_type header" if actual is None else f"ce_type {actual!r}"
        super().__init__(f"record on {topic!r} has {found}; the topic carries {expected!r}")


class DecodeError(ContractError):
    """A record's value is missing or does not parse as the topic's message type."""

    def __init__(self, topic: str, type_name: str, reason: str) -> None:
        self.topic = topic
        self.type_name = type_name
        self.reason = reason
        super().__init__(f"record on {topic!r} does not decode as {type_name!r}: {reason}")


class ConfigError(ContractError):
    """Bad settings: an unknown security protocol, SASL without credentials, a missing topic or `.dlq`,
    a topic the credentials may not use."""


# The name before docs/runtime.md settled the kinds; kept so that existing `except` clauses work.
# Deprecated: use ConfigError (connection failures are ConnectionError now).
KafkaConfigError = ConfigError


class ConnectionError(ContractError):
    """No broker reached within the bound, a refused connection, failed authentication or TLS.

    Not the builtin `ConnectionError` (an OSError): import it as `contracts_runtime.ConnectionError`
    or by its alias `KafkaConnectionError`.
    """


KafkaConnectionError = ConnectionError


class DeliveryError(ContractError):
    """Kafka did not acknowledge a record (the producer's delivery report carried an error)."""

    def __init__(self, topic: str, code: str, reason: str, *, retriable: bool = False) -> None:
        self.topic = topic
        self.code = code
        self.reason = reason
        self.retriable = retriable
        super().__init__(f"delivery to {topic!r} failed: {code}: {reason}")


class DeadLetterError(ContractError):
    """A record could not be written to its dead-letter topic; the consumer stops rather than skip it."""


class ValidationError(ContractError):
    """A message breaks the contract's field rules (protovalidate); nothing was sent.

    `violations` lists each broken rule as `Violation(rule_id, field)`, in protovalidate's order;
    the rule ids and field paths are the same in every runtime (docs/runtime.md, "Field rules").
    """

    def __init__(self, topic: str, type_name: str, violations: Sequence[Violation]) -> None:
        self.topic = topic
        self.type_name = type_name
        self.violations: list[Violation] = list(violations)
        count = len(self.violations)
        rules = "rule" if count == 1 else "rules"
        super().__init__(f"{type_name} for {topic!r} breaks {count} field {rules}: {describe(self.violations)}")
