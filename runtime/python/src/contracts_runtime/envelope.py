"""The record envelope (docs/envelope.md): header names, ce_id, ce_time and key encoding.

Everything here sits on the produce path, so the constant parts are built once as bytes
and the per-record parts (ce_id, ce_time) cost a counter step and a table lookup.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Final

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/protobuf"
DEFAULT_SOURCE: Final = "contracts"

CE_SPECVERSION: Final = "ce_specversion"
CE_ID: Final = "ce_id"
CE_SOURCE: Final = "ce_source"
CE_TYPE: Final = "ce_type"
CE_TIME: Final = "ce_time"
CONTENT_TYPE_HEADER: Final = "content-type"
TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"

DLQ_REASON: Final = "contracts_dlq_reason"
DLQ_ERROR: Final = "contracts_dlq_error"
DLQ_TOPIC: Final = "contracts_dlq_topic"
DLQ_PARTITION: Final = "contracts_dlq_partition"
DLQ_OFFSET: Final = "contracts_dlq_offset"
DLQ_GROUP: Final = "contracts_dlq_group"
DLQ_ATTEMPTS: Final = "contracts_dlq_attempts"
DLQ_FIRST_FAILURE_TIME: Final = "contracts_dlq_first_failure_time"
DLQ_LAST_FAILURE_TIME: Final = "contracts_dlq_last_failure_time"
DLQ_VIOLATIONS: Final = "contracts_dlq_violations"  # reason `validation` only: a JSON array
DLQ_PREFIX: Final = "contracts_dlq_"
# Written by `contracts dlq replay` on a republished dead letter (docs/runtime.md).
REPLAYED_FROM: Final = "contracts_replayed_from"  # <dlq topic>:<partition>:<offset>
REPLAY_TIME: Final = "contracts_replay_time"  # RFC 3339 UTC, milliseconds

# contracts_dlq_reason values (docs/runtime.md, "Dead-letter headers").
REASON_DECODE: Final = "decode"
REASON_WRONG_TYPE: Final = "wrong-type"
REASON_VALIDATION: Final = "validation"  # field rules (protovalidate)
REASON_HANDLER: Final = "handler"
# The names these had before docs/runtime.md (their values changed with it).
REASON_DECODE_ERROR: Final = REASON_DECODE
REASON_HANDLER_ERROR: Final = REASON_HANDLER

SPECVERSION_HEADER: Final[tuple[str, bytes]] = (CE_SPECVERSION, SPECVERSION.encode())
CONTENT_TYPE_PAIR: Final[tuple[str, bytes]] = (CONTENT_TYPE_HEADER, CONTENT_TYPE.encode())

HeaderValue = bytes | str | None
Headers = Sequence[tuple[str, HeaderValue]]

# --- ce_id: a random 128-bit prefix per process plus a counter -----------------------
#
# Ids are handed out from blocks of 1000 built ahead: `_next_id()` is then a list-iterator
# step (atomic under the GIL), where formatting a counter per record would cost ~100 ns.
# Block b holds the counters b*1000 .. b*1000+999, so ids read `<32 hex>-<n>` with n >= 1000.

_BLOCK_SUFFIXES: Final = tuple(b"%03d" % n for n in range(1000))
_id_prefix = b""
_id_blocks: Iterator[int] = iter(())
_next_id: Callable[[], bytes] = iter(()).__next__


def _start_id_sequence() -> None:
    global _id_prefix, _id_blocks, _next_id
    _id_prefix = os.urandom(16).hex().encode() + b"-"
    _id_blocks = itertools.count(1)
    _next_id = iter(()).__next__


def refill_event_ids() -> bytes:
    """Start the next block of ids and return its first (when `_next_id()` raised StopIteration).

    Two threads may refill at once: each takes its own block number, so ids stay unique (the
    block that loses the race is simply not used up).
    """
    global _next_id
    block = _id_prefix + b"%d" % next(_id_blocks)
    step = iter([block + suffix for suffix in _BLOCK_SUFFIXES]).__next__
    _next_id = step
    return step()


def next_event_id() -> bytes:
    """A new `ce_id`: `<32 hex>-<n>`, unique within this process and, by the prefix, across processes."""
    try:
        return _next_id()
    except StopIteration:
        return refill_event_ids()


_start_id_sequence()
# A forked child must not repeat its parent's ids.
os.register_at_fork(after_in_child=_start_id_sequence)


# --- ce_time: RFC 3339 UTC with milliseconds -------------------------------------------

_MILLIS_SUFFIX: Final = tuple(b".%03dZ" % millis for millis in range(1000))
# (second, "YYYY-MM-DDTHH:MM:SS" of that second) and (millisecond, full value); each is replaced
# whole, so a thread never sees a torn pair.
_second_cache: tuple[int, bytes] = (-1, b"")
_millis_cache: tuple[int, bytes] = (-1, b"")


def ce_time_at(millis: int) -> bytes:
    """The `ce_time` value of a Unix time in milliseconds, e.g. `2026-11-25T00:48:20.123Z`."""
    global _second_cache, _millis_cache
    second = millis // 1000
    cached = _second_cache
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode())
        _second_cache = cached
    value = cached[1] + _MILLIS_SUFFIX[millis % 1000]
    _millis_cache = (millis, value)
    return value


def now_ce_time() -> bytes:
    """The current time as a `ce_time` value."""
    millis = time.time_ns() // 1_000_000
    cached = _millis_cache
    return cached[1] if cached[0] == millis else ce_time_at(millis)


def format_ce_time(moment: datetime) -> bytes:
    """A caller-given time as a `ce_time` value; naive datetimes are refused (they have no zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"ce_time needs a timezone-aware datetime, got naive {moment.isoformat()}")
    utc = moment.astimezone(UTC)
    return b"%s.%03dZ" % (utc.strftime("%Y-%m-%dT%H:%M:%S").encode(), utc.microsecond // 1000)


def parse_ce_time(value: HeaderValue) -> datetime | None:
    """The `ce_time` header as an aware datetime, or None when missing or unreadable."""
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def header(headers: Headers | None, name: str) -> bytes | None:
    """The first value of header `name` as bytes, or None."""
    if headers:
        for key, value in headers:
            if key == name:
                return value.encode() if isinstance(value, str) else value
    return None


def header_text(headers: Headers | None, name: str) -> str | None:
    value = header(headers, name)
    return None if value is None else value.decode("utf-8", "replace")


# --- keys --------------------------------------------------------------------------------

KeyEncoder = Callable[[Any], "bytes | None"]

# google.protobuf FieldDescriptor.TYPE_* numbers (descriptor.proto), read by duck typing so
# that the runtime does not need protobuf's Python types to be importable.
_STRING, _BYTES, _BOOL, _ENUM = 9, 12, 8, 14
_INTEGERS = frozenset({3, 4, 5, 6, 7, 13, 15, 16, 17, 18})
_KEY_TYPES = _INTEGERS | {_STRING, _BYTES, _BOOL, _ENUM}


def encode_key_value(value: object) -> bytes | None:
    """One key value per the envelope: str UTF-8, bytes as is, bool true/false, ints and enums decimal."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return b"true" if value else b"false"
    if isinstance(value, int):  # IntEnum members included: %d prints the number
        return b"%d" % value
    raise TypeError(
        f"key value {value!r} of type {type(value).__name__} cannot be a key: "
        "use a string, bytes, integer, bool or enum field"
    )


def key_encoder(message_type: type[Any], key_field: str) -> KeyEncoder:
    """A function `message -> key bytes` specialised for the field's type when it is known."""
    get = attrgetter(key_field)
    field_type = _descriptor_field_type(message_type, key_field)

    if field_type == _STRING:
        return lambda message: get(message).encode()
    if field_type == _BYTES:
        return get
    if field_type == _BOOL:
        return lambda message: b"true" if get(message) else b"false"
    if field_type is not None:  # integers and enums
        return lambda message: b"%d" % get(message)
    return lambda message: encode_key_value(get(message))


def _descriptor_field_type(message_type: type[Any], key_field: str) -> int | None:
    """The protobuf type of `key_field`, None when the class has no descriptor; raises on a bad field."""
    descriptor = getattr(message_type, "DESCRIPTOR", None)
    fields = getattr(descriptor, "fields_by_name", None)
    if fields is None:
        _check_dataclass_field(message_type, key_field)
        return None
    field = fields.get(key_field)
    if field is None:
        raise ValueError(
            f"key field {key_field!r} is not a field of {descriptor.full_name}; "  # type: ignore[union-attr]
            f"its fields are {', '.join(sorted(fields)) or '(none)'}"
        )
    repeated = getattr(field, "is_repeated", None)
    if repeated is None:
        repeated = getattr(field, "label", 1) == 3
    field_type = int(field.type)
    if repeated or field_type not in _KEY_TYPES:
        raise ValueError(
            f"key field {key_field!r} of {descriptor.full_name} cannot be a key: "  # type: ignore[union-attr]
            "use a singular string, bytes, integer, bool or enum field"
        )
    return field_type


def _check_dataclass_field(message_type: type[Any], key_field: str) -> None:
    fields: dict[str, object] | None = getattr(message_type, "__dataclass_fields__", None)
    if fields is not None and key_field not in fields:
        raise ValueError(f"key field {key_field!r} is not a field of {message_type.__qualname__}")
