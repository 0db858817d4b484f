"""The current contract of a topic, as the registry compiles it: decode and validate dead letters.

The CLI never imports generated code: the message class is built from the registry's compiled
image (a FileDescriptorSet) in a descriptor pool of its own, and validated with protovalidate
through the runtime's `contracts_runtime.validation`, so rule ids and field paths read exactly as
the runtimes write them into `contracts_dlq_violations`.

The image holds the registry's vendored `buf/validate/validate.proto`; protovalidate reads the
rules from each message's descriptor with its own copy of that schema. A private pool keeps the
two from meeting in google.protobuf's default pool (where a second `buf/validate/validate.proto`
would be refused as a duplicate file), and `check_rules_schema` refuses a registry whose copy
declares rules protovalidate does not know, rather than skipping them silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts_runtime import envelope
from contracts_runtime.validation import Violation, violations
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import Message

from contracts_cli.errors import ContractsError
from contracts_cli.model import Registry, TopicBinding

VALIDATE_PROTO = "buf/validate/validate.proto"

# contracts_dlq_reason values a replay can find again (docs/runtime.md).
REASON_WRONG_TYPE = envelope.REASON_WRONG_TYPE
REASON_DECODE = envelope.REASON_DECODE
REASON_VALIDATION = envelope.REASON_VALIDATION


@dataclass(frozen=True)
class Verdict:
    """What the current contract says of one dead letter's value."""

    reason: str | None  # None: valid now; else wrong-type, decode or validation
    detail: str = ""
    violations: tuple[Violation, ...] = ()
    message: Message | None = None  # decoded, when it decodes


@dataclass(frozen=True)
class Contract:
    """A topic's binding and its message class, built from the registry's image."""

    binding: TopicBinding
    message_class: type[Message]

    @property
    def type_name(self) -> str:
        return self.binding.message

    def decode(self, value: bytes | None) -> Message | None:
        """The value as the contract's message, or None when it does not decode."""
        if value is None:
            return None
        try:
            return self.message_class.FromString(value)
        except Exception:  # each protobuf backend raises its own decode errors
            return None

    def judge(self, ce_type: bytes | None, value: bytes | None) -> Verdict:
        """Check a dead letter as a consumer of the current contract would: type, decoding, field rules."""
        if ce_type != self.type_name.encode():
            found = "no ce_type header" if ce_type is None else f"ce_type {ce_type.decode('utf-8', 'replace')!r}"
            return Verdict(REASON_WRONG_TYPE, f"{found}; the topic carries {self.type_name!r}")
        message = self.decode(value)
        if message is None:
            return Verdict(REASON_DECODE, f"the value does not decode as {self.type_name}")
        found_violations = tuple(violations(message))
        if found_violations:
            return Verdict(REASON_VALIDATION, "", found_violations, message)
        return Verdict(None, "", (), message)


def load_contract(registry: Registry, topic: str) -> Contract:
    """The contract of `topic`; ContractsError when the registry binds no such topic."""
    bindings = {binding.name: binding for binding in registry.topics}
    binding = bindings.get(topic.removesuffix(".dlq"))
    if binding is None:
        known = ", ".join(sorted(bindings)) or "none"
        raise ContractsError(f"no contract binds topic {topic!r} (the registry's topics: {known})")
    check_rules_schema(registry.descriptors.file)
    pool = descriptor_pool.DescriptorPool()
    for file_proto in _imports_first(registry.descriptors.file):
        pool.Add(file_proto)
    message_class: type[Message] = message_factory.GetMessageClass(pool.FindMessageTypeByName(binding.message))
    return Contract(binding, message_class)


def check_rules_schema(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> None:
    """Refuse a registry whose validate.proto declares rule fields protovalidate does not know: their
    rules would be ignored here and enforced elsewhere (or the reverse)."""
    registry_copy = next((item for item in files if item.name == VALIDATE_PROTO), None)
    if registry_copy is None:
        return  # no contract uses field rules
    # Imported here: protovalidate's native library is loaded only for registries with rules.
    from protovalidate import FieldPathPb

    # protovalidate's own copy of buf/validate/validate.proto, the schema it reads rules with.
    own = descriptor_pb2.FileDescriptorProto.FromString(FieldPathPb.desc().file.proto.to_binary())
    unknown = sorted(_field_names(registry_copy) - _field_names(own))
    if unknown:
        raise ContractsError(
            f"the registry's {VALIDATE_PROTO} declares rules the installed protovalidate does not know "
            f"({', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}): upgrade the contracts CLI, "
            "or vendor the validate.proto of the protovalidate release it ships with"
        )


def _field_names(file_proto: descriptor_pb2.FileDescriptorProto) -> set[str]:
    """Full names of every message field a file declares, nested messages included."""
    names: set[str] = set()
    pending: list[tuple[str, descriptor_pb2.DescriptorProto]] = [
        (f"{file_proto.package}.{message.name}", message) for message in file_proto.message_type
    ]
    while pending:
        prefix, message = pending.pop()
        names.update(f"{prefix}.{item.name}" for item in message.field)
        pending.extend((f"{prefix}.{nested.name}", nested) for nested in message.nested_type)
    return names


def _imports_first(files: Sequence[descriptor_pb2.FileDescriptorProto]) -> list[descriptor_pb2.FileDescriptorProto]:
    """The files in an order a descriptor pool accepts: every import before the file that imports it."""
    by_name = {item.name: item for item in files}
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for dependency in by_name[name].dependency:
            visit(dependency)
        ordered.append(by_name[name])

    for item in files:
        visit(item.name)
    return ordered


def to_json(message: Message) -> Any:
    """The message as proto3 JSON (field names as in the .proto, like violation field paths)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)
