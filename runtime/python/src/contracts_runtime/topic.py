"""Topic bindings: one protobuf message type bound to one Kafka topic.

Generated packages declare one `Topic` per binding; producers and consumers take them, so
the type checker sees which message goes to which topic.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, NamedTuple, Protocol, Self, TypeVar

from contracts_runtime import envelope
from contracts_runtime import validation as _validation
from contracts_runtime.errors import DecodeError, ValidationError, WrongTypeError
from contracts_runtime.validation import VALIDATION_MODES, Violation

COMPATIBILITY_MODES: Final = ("none", "wire", "wire_json", "source")


class ProtoMessage(Protocol):
    """What the runtime needs from a message class: google.protobuf `_pb2` classes and betterproto2
    dataclasses both have it."""

    def SerializeToString(self) -> bytes: ...  # noqa: N802 (protobuf's name)

    @classmethod
    def FromString(cls, data: bytes, /) -> Self: ...  # noqa: N802 (protobuf's name)


M = TypeVar("M", bound=ProtoMessage)


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """The topic's declared settings; None means "the broker's default"."""

    partitions: int | None = None
    replication_factor: int | None = None
    retention_ms: int | None = None  # -1 = infinite
    cleanup_policy: str | None = None
    owner: str = ""
    producers: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    compatibility: str = "source"
    # The topic option's `validation` without its prefix: "reject" (VALIDATION_REJECT), "dlq" or "off".
    validation: str = _validation.REJECT

    def __post_init__(self) -> None:
        if self.compatibility not in COMPATIBILITY_MODES:
            raise ValueError(f"compatibility {self.compatibility!r} is not one of {', '.join(COMPATIBILITY_MODES)}")
        _check_mode(self.validation)


class EncodedRecord(NamedTuple):
    """A record ready for `Producer.produce`: everything the envelope asks for, as bytes."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


class Topic(Generic[M]):
    """A message type bound to a topic, with its key field and settings."""

    __slots__ = (
        "_key",
        "_receive_check",
        "_send_check",
        "_source_header",
        "_type_header",
        "_type_name_bytes",
        "dlq_name",
        "key_field",
        "message_type",
        "name",
        "settings",
        "type_name",
        "validation",
    )

    def __init__(
        self,
        name: str,
        message_type: type[M],
        key_field: str | None = None,
        settings: TopicSettings | None = None,
        *,
        type_name: str | None = None,
        validation: str | None = None,
    ) -> None:
        """`validation` overrides `settings.validation` (docs/runtime.md, "Field rules"): "reject"
        (the default) validates in `Producer.send` and in the consumer, "dlq" only in the consumer
        (invalid records are dead-lettered), "off" nowhere."""
        if not name:
            raise ValueError("a topic needs a name")
        self.name: Final = name
        self.message_type: Final = message_type
        self.type_name: Final = _resolve_type_name(message_type, type_name)
        self.key_field: Final = key_field
        self.settings: Final = settings if settings is not None else TopicSettings()
        self.validation: Final = _check_mode(validation) if validation is not None else self.settings.validation
        # None when there is nothing to check: a type without rules costs nothing per record.
        check = None if self.validation == _OFF else _checker(message_type)
        self._send_check: Final = check if self.validation == _REJECT else None
        self._receive_check: Final = check
        self.dlq_name: Final = name + ".dlq"
        self._key: Final = None if key_field is None else envelope.key_encoder(message_type, key_field)
        self._type_name_bytes: Final = self.type_name.encode()
        self._type_header: Final = (envelope.CE_TYPE, self._type_name_bytes)
        self._source_header: Final = (envelope.CE_SOURCE, envelope.DEFAULT_SOURCE.encode())

    def __repr__(self) -> str:
        return f"Topic({self.name!r}, {self.type_name})"

    def violations(self, message: M) -> list[Violation]:
        """The field rules `message` breaks ([] when valid, or when its type has no rules), whatever the mode."""
        return _violations(message)

    def validate(self, message: M) -> None:
        """Raise ValidationError when `message` breaks a field rule, whatever the mode."""
        found = _violations(message)
        if found:
            raise ValidationError(self.name, self.type_name, found)

    def check_send(self, message: M) -> None:
        """What `Producer.send` runs before encoding: `validate` in mode "reject", nothing otherwise."""
        check = self._send_check
        if check is not None and isinstance(message, self.message_type):
            found = check(message)
            if found:
                raise ValidationError(self.name, self.type_name, found)

    def key(self, message: M) -> bytes | None:
        """The record key for `message`: its key field encoded per the envelope, None without one."""
        return None if self._key is None else self._key(message)

    def encode(
        self,
        message: M,
        *,
        source: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> EncodedRecord:
        """The record for `message`: key, protobuf bytes and the CloudEvents headers (+ `headers`)."""
        message_type = self.message_type
        if message.__class__ is not message_type and not isinstance(message, message_type):
            raise TypeError(
                f"{self.name} carries {self.type_name} ({message_type.__qualname__}), not {type(message).__qualname__}"
            )
        # The hot path of every send: envelope's id and clock caches are read inline here, a
        # function call each would add a tenth to the cost of encoding a small message.
        if event_id is None:
            try:
                ce_id = envelope._next_id()
            except StopIteration:
                ce_id = envelope.refill_event_ids()
        else:
            ce_id = event_id.encode()
        if time is None:
            millis = _time_ns() // 1_000_000
            cached = envelope._millis_cache
            ce_time = cached[1] if cached[0] == millis else envelope.ce_time_at(millis)
        else:
            ce_time = envelope.format_ce_time(time)
        record_headers = [
            _SPECVERSION_HEADER,
            (_CE_ID, ce_id),
            self._source_header if source is None else (_CE_SOURCE, source.encode()),
            self._type_header,
            (_CE_TIME, ce_time),
            _CONTENT_TYPE_PAIR,
        ]
        if headers:
            record_headers.extend(headers)
        key = self._key
        # tuple.__new__ skips NamedTuple's Python-level __new__: a third of the overhead.
        return _new_tuple(
            EncodedRecord,
            (self.name, None if key is None else key(message), message.SerializeToString(), record_headers),
        )

    def decode(self, value: bytes | None, headers: envelope.Headers | None) -> M:
        """The message in a record, after checking its `ce_type` (envelope, "Decoding")."""
        return self._decode_value(value, envelope.header(headers, envelope.CE_TYPE))

    def _decode_value(self, value: bytes | None, actual: bytes | None) -> M:
        """`decode` once the first `ce_type` header is known (the consumer reads all headers in one pass)."""
        if actual != self._type_name_bytes:
            raise WrongTypeError(
                self.name, self.type_name, None if actual is None else actual.decode("utf-8", "replace")
            )
        if value is None:
            raise DecodeError(self.name, self.type_name, "the record has no value (null)")
        try:
            return self.message_type.FromString(value)
        except Exception as error:  # each protobuf implementation raises its own errors
            raise DecodeError(self.name, self.type_name, _one_line(error)) from error


_new_tuple: Final = tuple.__new__
_checker: Final = _validation.checker
_violations: Final = _validation.violations
_REJECT: Final = _validation.REJECT
_OFF: Final = _validation.OFF
_time_ns: Final = _time.time_ns
_SPECVERSION_HEADER: Final = envelope.SPECVERSION_HEADER
_CONTENT_TYPE_PAIR: Final = envelope.CONTENT_TYPE_PAIR
_CE_ID: Final = envelope.CE_ID
_CE_SOURCE: Final = envelope.CE_SOURCE
_CE_TIME: Final = envelope.CE_TIME


def _resolve_type_name(message_type: type[object], type_name: str | None) -> str:
    descriptor_name = getattr(getattr(message_type, "DESCRIPTOR", None), "full_name", None)
    if type_name is None:
        if not isinstance(descriptor_name, str):
            raise TypeError(
                f"{message_type.__qualname__} has no protobuf DESCRIPTOR: pass type_name='package.Message' to Topic"
            )
        return descriptor_name
    if isinstance(descriptor_name, str) and descriptor_name != type_name:
        raise ValueError(
            f"type_name {type_name!r} does not match {message_type.__qualname__}'s descriptor {descriptor_name!r}"
        )
    return type_name


def _check_mode(mode: str) -> str:
    if mode not in VALIDATION_MODES:
        raise ValueError(f"validation {mode!r} is not one of {', '.join(VALIDATION_MODES)}")
    return mode


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
