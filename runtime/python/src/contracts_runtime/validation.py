"""Field rules (protovalidate): which message types carry rules, and their violations.

docs/runtime.md ("Field rules") fixes the behaviour: a violation is a rule id and a dotted field
path, the same in every language. Two costs are kept off the common path:

- a message type without rules (none on itself or on any message it holds) is never handed to
  protovalidate: whether it has any is read once per type from its descriptor and cached;
- protovalidate (a native extension of several MB) is imported only when the first message type
  with rules is met, so a service whose contracts carry no rules never loads it.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

# Topic modes, as written in the topic option (`validation: VALIDATION_REJECT`) without the prefix.
REJECT: Final = "reject"
DLQ: Final = "dlq"
OFF: Final = "off"
VALIDATION_MODES: Final = (REJECT, DLQ, OFF)

# At most this many violations go into the dead-letter header (docs/runtime.md).
MAX_HEADER_VIOLATIONS: Final = 100

# `(buf.validate.message)`, `(buf.validate.field)` and `(buf.validate.oneof)` all extend their
# options message with this field number (buf/validate/validate.proto).
_RULES_EXTENSION: Final = 1159


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: protovalidate's rule id and the dotted path of the field ("" for the message).

    `message` is protovalidate's text; it differs between languages and is left out of equality.
    """

    rule_id: str
    field: str
    message: str = dataclasses.field(default="", compare=False)


def violations_header(violations: Sequence[Violation]) -> bytes:
    """The value of `contracts_dlq_violations`: `[{"rule_id": ..., "field": ...}]`, at most 100."""
    items = [{"rule_id": item.rule_id, "field": item.field} for item in violations[:MAX_HEADER_VIOLATIONS]]
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()


def parse_violations_header(value: bytes | str | None) -> list[Violation]:
    """`contracts_dlq_violations` read back; [] when missing or unreadable."""
    if not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [
        Violation(str(item.get("rule_id", "")), str(item.get("field", "")))
        for item in items
        if isinstance(item, dict)
    ]


def describe(violations: Sequence[Violation], limit: int = 5) -> str:
    """One line: `string.email at email (must be a valid email address); ...`."""
    parts = []
    for item in violations[:limit]:
        where = f" at {item.field}" if item.field else ""
        text = f" ({item.message})" if item.message else ""
        parts.append(f"{item.rule_id or '(no rule id)'}{where}{text}")
    if len(violations) > limit:
        parts.append(f"and {len(violations) - limit} more")
    return "; ".join(parts)


# --- which types have rules ----------------------------------------------------------------


class _Descriptor(Protocol):
    """What is read of a google.protobuf message Descriptor."""

    full_name: str
    fields: Sequence[Any]
    oneofs: Sequence[Any]

    def GetOptions(self) -> Any: ...  # noqa: N802 (protobuf's name)


# By class, not by type name: two classes of one name can carry different rules (the CLI builds the
# current contract's classes beside older ones).
_has_rules_cache: dict[type[Any], bool] = {}


def has_rules(message_type: type[Any]) -> bool:
    """Whether validating `message_type` can find anything: a rule on it or on a message it holds.

    False for classes without a protobuf descriptor (betterproto2 dataclasses): protovalidate
    reads rules from the descriptor, so only google.protobuf classes are validated.
    """
    descriptor = getattr(message_type, "DESCRIPTOR", None)
    if descriptor is None or not hasattr(descriptor, "fields"):
        return False
    cached = _has_rules_cache.get(message_type)
    if cached is None:
        cached = _has_rules_cache[message_type] = _descriptor_has_rules(descriptor, set())
    return cached


def _descriptor_has_rules(descriptor: _Descriptor, seen: set[str]) -> bool:
    if descriptor.full_name in seen:
        return False  # a recursive type: its rules are found where the walk first met it
    seen.add(descriptor.full_name)
    if _carries_rules(descriptor.GetOptions()):
        return True
    if any(_carries_rules(oneof.GetOptions()) for oneof in descriptor.oneofs):
        return True
    for item in descriptor.fields:
        if _carries_rules(item.GetOptions()):
            return True
        nested = item.message_type
        if nested is not None and _descriptor_has_rules(nested, seen):
            return True
    return False


def _carries_rules(options: Any) -> bool:
    """Whether an options message holds field 1159 (read from its bytes, so that it works whether or
    not `buf/validate/validate_pb2` was imported into the process)."""
    return _RULES_EXTENSION in _field_numbers(options.SerializeToString())


def _field_numbers(data: bytes) -> set[int]:
    """The field numbers at the top level of an encoded message."""
    numbers: set[int] = set()
    position, end = 0, len(data)
    while position < end:
        tag, position = _varint(data, position)
        number, wire_type = tag >> 3, tag & 7
        numbers.add(number)
        if wire_type == 0:
            _, position = _varint(data, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 2:
            length, position = _varint(data, position)
            position += length
        elif wire_type == 5:
            position += 4
        # 3 and 4 (group start and end) carry no payload of their own
    return numbers


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


# --- validating --------------------------------------------------------------------------

# protovalidate's Validator caches the compiled rules of each message type by its full name, so one
# validator per descriptor pool: classes built from a newer contract in a pool of their own (as the
# CLI does) must not be checked with an older class's rules. Values keep their pool alive, so that
# an id is never reused while its entry exists.
_validators: dict[int, tuple[object, Any]] = {}
_checkers: dict[type[Any], Callable[[Any], list[Violation]] | None] = {}
_lock: Final = threading.Lock()


def violations(message: Any) -> list[Violation]:
    """The violations of `message`, in protovalidate's order; [] for a valid message or a type without rules."""
    message_type = type(message)
    check = _checkers[message_type] if message_type in _checkers else checker(message_type)
    return [] if check is None else check(message)


def checker(message_type: type[Any]) -> Callable[[Any], list[Violation]] | None:
    """A function `message -> violations` for `message_type`, or None when the type has no rules."""
    if message_type in _checkers:
        return _checkers[message_type]
    check = None
    if has_rules(message_type):
        collect = _validator_for(message_type.DESCRIPTOR.file.pool).collect_violations

        def check(message: Any) -> list[Violation]:
            found = collect(message)
            return [_violation(item.proto) for item in found] if found else []

    _checkers[message_type] = check
    return check


def _validator_for(pool: object) -> Any:
    """protovalidate's Validator for one descriptor pool, built on first use."""
    with _lock:
        entry = _validators.get(id(pool))
        if entry is None:
            import protovalidate  # noqa: PLC0415 (loaded only when a type has rules)

            entry = _validators[id(pool)] = (pool, protovalidate.Validator())
        return entry[1]


def _violation(proto: Any) -> Violation:
    path = proto.field
    return Violation(proto.rule_id or "", "" if path is None else field_path(path.elements), proto.message or "")


def field_path(elements: Iterable[Any]) -> str:
    """protovalidate's FieldPath as text, as Go's `protovalidate.FieldPathString` writes it:
    `lines[2].amount`, `labels["env"]`, `flags[true]`."""
    parts = []
    for element in elements:
        text = element.field_name or ""
        subscript = element.subscript
        if subscript is not None:
            value = subscript.value
            if subscript.field == "string_key":
                text += f"[{json.dumps(value, ensure_ascii=False)}]"
            elif subscript.field == "bool_key":
                text += "[true]" if value else "[false]"
            else:
                text += f"[{int(value)}]"
        parts.append(text)
    return ".".join(parts)
