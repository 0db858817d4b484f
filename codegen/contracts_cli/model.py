"""Registry, Topic, Message: plain frozen dataclasses built from a buf image.

Everything downstream (rules, breaking, generators, docs, apply) reads this
model and never the descriptors, so a question about the registry has one answer.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from contracts_cli.config import RegistryRoot

TOPIC_EXTENSION = "contracts.v1.topic"
COMPATIBILITY_LEVELS = ("none", "wire", "wire_json", "source")  # weakest to strictest
_COMPATIBILITY_BY_NUMBER = {0: "source", 1: "none", 2: "wire", 3: "wire_json", 4: "source"}
VALIDATION_MODES = ("reject", "dlq", "off")  # the topic option's VALIDATION_* without the prefix
_VALIDATION_BY_NUMBER = {0: "reject", 1: "reject", 2: "dlq", 3: "off"}

# protovalidate's rules: a file the registry vendors (third_party/) but does not own. Generated
# packages take its code from elsewhere (Go and Rust from protovalidate's own packages).
PROTOVALIDATE_FILE = "buf/validate/validate.proto"
PROTOVALIDATE_PACKAGE = "buf.validate"
# (buf.validate.message), (buf.validate.oneof) and (buf.validate.field) share this field number.
_RULES_NUMBER = 1159
_RULES_TAG = bytes([_RULES_NUMBER << 3 & 0x7F | 0x80 | 2, _RULES_NUMBER << 3 >> 7])

# Field numbers inside descriptor.proto, used to address SourceCodeInfo locations.
_FILE_MESSAGES, _FILE_ENUMS = 4, 5
_MESSAGE_FIELDS, _MESSAGE_NESTED, _MESSAGE_ENUMS, _MESSAGE_OPTIONS = 2, 3, 4, 7
_ENUM_VALUES = 2
_FILE_SYNTAX, _FILE_EDITION = 12, 14
_EXPLICIT = descriptor_pb2.FeatureSet.FieldPresence.EXPLICIT

_SCALAR_NAMES = {
    value: name.removeprefix("TYPE_").lower()
    for name, value in descriptor_pb2.FieldDescriptorProto.Type.items()
    if name not in ("TYPE_MESSAGE", "TYPE_ENUM", "TYPE_GROUP")
}
_RETENTION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_RETENTION_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_retention(text: str) -> int:
    """`7d` -> 604800000, `infinite` -> -1 (Kafka's retention.ms for 'keep forever'). Raises ValueError."""
    if text == "infinite":
        return -1
    match = _RETENTION.match(text)
    if not match:
        raise ValueError(f"retention {text!r} is not a number with a unit (ms, s, m, h, d, w) or 'infinite'")
    return int(match.group(1)) * _RETENTION_UNIT_MS[match.group(2)]


def normalize_principal(principal: str) -> str:
    """`svc-billing` means `User:svc-billing`; `Type:name` stays as written."""
    return principal if ":" in principal else f"User:{principal}"


def consumer_group(principal: str) -> str:
    """A consumer principal reads with the consumer group of its own name: `User:svc-search` -> `svc-search`."""
    return normalize_principal(principal).split(":", 1)[1]


# protovalidate rules as flat (path, value) pairs in declaration order: `("string.min_len", 1)`,
# `("required", True)`, `("repeated.items.string.email", True)`, `("cel", (("id", "expression"), ...))`.
# Durations and timestamps are nanoseconds, enums their value names: plain values to compare.
Rules = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    column: int
    end_line: int = 0  # last line of the element's span, for "which type holds this line" questions


@dataclass(frozen=True)
class Field:
    name: str
    number: int
    type_name: str  # a scalar name ("string", "int64") or a full type name ("common.v1.Actor")
    kind: str  # "scalar" | "enum" | "message"
    repeated: bool
    comment: str
    location: Location
    json_name: str
    oneof: str | None = None
    map_key: str | None = None  # scalar name of the key when this is a map field
    map_value: Field | None = None  # the value when this is a map field
    # Encoded as a group (a proto2 group, or a DELIMITED field in editions): a message all the same.
    group: bool = False
    # Tells "unset" from the default value (proto3 `optional`, proto2 `optional`, editions EXPLICIT):
    # generated code then holds an option/pointer where it would hold the value.
    explicit_presence: bool = False
    rules: Rules = ()  # (buf.validate.field)

    @property
    def is_map(self) -> bool:
        return self.map_value is not None


@dataclass(frozen=True)
class Enum:
    full_name: str
    name: str
    package: str
    file: str
    values: tuple[tuple[str, int], ...]
    comment: str
    location: Location
    parent: str | None


@dataclass(frozen=True)
class TopicBinding:
    name: str
    message: str  # full name of the bound message type
    key: str
    partitions: int | None
    replication_factor: int | None
    retention: str
    cleanup_policy: str
    owner: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    compatibility: str
    location: Location
    validation: str = "reject"  # one of VALIDATION_MODES

    @property
    def retention_ms(self) -> int | None:
        """None when unset or unparsable (the TOPIC_RETENTION_VALID rule reports the latter)."""
        try:
            return parse_retention(self.retention) if self.retention else None
        except ValueError:
            return None

    @property
    def dlq_name(self) -> str:
        return f"{self.name}.dlq"


@dataclass(frozen=True)
class Message:
    full_name: str
    name: str
    package: str
    file: str
    fields: tuple[Field, ...]
    oneofs: tuple[str, ...]
    comment: str
    location: Location
    parent: str | None  # full name of the enclosing message, for nested types
    topic: TopicBinding | None
    is_map_entry: bool = False
    rules: Rules = ()  # (buf.validate.message)
    oneof_rules: tuple[tuple[str, Rules], ...] = ()  # (oneof name, its (buf.validate.oneof))

    def field_named(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class ProtoFile:
    name: str  # module-relative, as in import statements
    path: str  # relative to the registry root
    package: str
    dependencies: tuple[str, ...]
    messages: tuple[str, ...]  # full names of every message defined in the file, nested included
    enums: tuple[str, ...]
    syntax: str = "proto3"  # "proto2", "proto3" or "editions"
    edition: str = ""  # "2023", "2024" for editions files
    syntax_location: Location | None = None  # the syntax or edition statement

    @property
    def vendored(self) -> bool:
        """protovalidate's rules, which the registry carries but every generated package takes from elsewhere."""
        return self.name == PROTOVALIDATE_FILE


@dataclass(frozen=True)
class Registry:
    files: Mapping[str, ProtoFile]
    messages: Mapping[str, Message]
    enums: Mapping[str, Enum]
    # The compiled input, kept for generators that hand it to protoc plugins.
    descriptors: descriptor_pb2.FileDescriptorSet = field(repr=False, compare=False)

    @cached_property
    def topics(self) -> tuple[TopicBinding, ...]:
        bound = (message.topic for message in self.messages.values() if message.topic)
        return tuple(sorted(bound, key=lambda topic: (topic.name, topic.message)))

    def uses(self, type_name: str) -> set[str]:
        """Every message and enum type reachable from `type_name`'s fields, itself included."""
        seen: set[str] = set()
        pending = [type_name]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            message = self.messages.get(current)
            if message:
                pending.extend(_referenced_types(message.fields))
        return seen

    def local_files(self) -> Iterator[ProtoFile]:
        """Files of the registry itself, without google/protobuf imports and protovalidate's rules."""
        return (f for f in self.files.values() if not f.name.startswith("google/protobuf/") and not f.vendored)

    @cached_property
    def uses_field_rules(self) -> bool:
        """Whether a contract imports protovalidate's rules (generated packages then need its code)."""
        return any(PROTOVALIDATE_FILE in f.dependencies for f in self.local_files())


def _referenced_types(fields: Iterable[Field]) -> Iterator[str]:
    for one in fields:
        target = one.map_value if one.map_value else one
        if target.kind != "scalar":
            yield target.type_name


def build_registry(descriptors: descriptor_pb2.FileDescriptorSet, root: RegistryRoot) -> Registry:
    with _without_cyclic_gc():
        return _build_registry(descriptors, root)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Build without the cycle collector: the model is a tree (no cycles to find), and at 10,000 files
    the collector's full passes over the growing heap made building it quadratic (14.7 s against 3.5 s).
    The objects that exist afterwards are frozen, so later collections need not walk the model again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _build_registry(descriptors: descriptor_pb2.FileDescriptorSet, root: RegistryRoot) -> Registry:
    topic_reader = _TopicOptionReader(descriptors)
    rules_reader = _RulesReader(descriptors)
    files: dict[str, ProtoFile] = {}
    messages: dict[str, Message] = {}
    enums: dict[str, Enum] = {}
    for file_proto in descriptors.file:
        builder = _FileBuilder(file_proto, root.repo_path(file_proto.name), topic_reader, rules_reader)
        builder.build()
        messages.update(builder.messages)
        enums.update(builder.enums)
        files[file_proto.name] = ProtoFile(
            name=file_proto.name,
            path=builder.path,
            package=file_proto.package,
            dependencies=tuple(file_proto.dependency),
            messages=tuple(builder.messages),
            enums=tuple(builder.enums),
            syntax=builder.syntax,
            edition=builder.edition,
            syntax_location=builder.syntax_location(),
        )
    return Registry(files=files, messages=messages, enums=enums, descriptors=descriptors)


class _TopicOptionReader:
    """Reads the (contracts.v1.topic) option, whose schema is the registry's own options.proto.

    The extension is resolved in a pool holding only the file that declares it and that
    file's imports: the rest of the registry is never added, so a file that buf accepts and
    the protobuf runtime would refuse (proto2 fields sharing a JSON name, say) cannot stop
    the option from being read, and the pool's cost does not grow with the registry.
    """

    def __init__(self, descriptors: descriptor_pb2.FileDescriptorSet) -> None:
        self._extension: Any = None
        self._options_class: Any = None
        self._tag = b""
        by_name = {file_proto.name: file_proto for file_proto in descriptors.file}
        declaring = next((f for f in descriptors.file if _declares_topic_extension(f)), None)
        if declaring is None:
            return
        pool = descriptor_pool.DescriptorPool()
        for file_proto in _with_imports_first(declaring, by_name):
            pool.Add(file_proto)
        self._extension = pool.FindExtensionByName(TOPIC_EXTENSION)
        options_type = pool.FindMessageTypeByName("google.protobuf.MessageOptions")
        self._options_class = message_factory.GetMessageClass(options_type)
        # The option's key on the wire (field number, length-delimited), to skip options without it.
        self._tag = _varint(self._extension.number << 3 | 2)

    def read(self, options: descriptor_pb2.MessageOptions) -> dict[str, object] | None:
        if self._extension is None or self._options_class is None:
            return None
        serialized = options.SerializeToString()
        if self._tag not in serialized:
            return None  # most messages carry no topic: skip parsing their options again
        parsed = self._options_class.FromString(serialized)
        if not parsed.HasExtension(self._extension):
            return None
        topic: Any = parsed.Extensions[self._extension]
        return {
            "name": topic.name,
            "key": topic.key,
            "partitions": topic.partitions if topic.HasField("partitions") else None,
            "replication_factor": topic.replication_factor if topic.HasField("replication_factor") else None,
            "retention": topic.retention,
            "cleanup_policy": topic.cleanup_policy,
            "owner": topic.owner,
            "producers": tuple(topic.producers),
            "consumers": tuple(topic.consumers),
            "compatibility": _COMPATIBILITY_BY_NUMBER.get(int(topic.compatibility), "source"),
            # An older options.proto has no `validation`: its topics keep the default.
            "validation": _VALIDATION_BY_NUMBER.get(int(getattr(topic, "validation", 0)), "reject"),
        }


class _RulesReader:
    """Reads protovalidate's options (`(buf.validate.field)` and the message and oneof ones) into Rules.

    As for the topic option, the schema is the registry's own copy of validate.proto, in a pool
    that holds only that file and its imports; a registry without it has no rules to read.
    """

    def __init__(self, descriptors: descriptor_pb2.FileDescriptorSet) -> None:
        self._classes: dict[str, Any] = {}
        self._extensions: dict[str, Any] = {}
        by_name = {file_proto.name: file_proto for file_proto in descriptors.file}
        declaring = by_name.get(PROTOVALIDATE_FILE)
        if declaring is None or declaring.package != PROTOVALIDATE_PACKAGE:
            return
        pool = descriptor_pool.DescriptorPool()
        for file_proto in _with_imports_first(declaring, by_name):
            pool.Add(file_proto)
        for kind, options in (("message", "MessageOptions"), ("oneof", "OneofOptions"), ("field", "FieldOptions")):
            try:
                self._extensions[kind] = pool.FindExtensionByName(f"{PROTOVALIDATE_PACKAGE}.{kind}")
            except KeyError:
                continue
            options_type = pool.FindMessageTypeByName(f"google.protobuf.{options}")
            self._classes[kind] = message_factory.GetMessageClass(options_type)

    def read(self, kind: str, options: Any) -> Rules:
        """The rules in `options` (a MessageOptions, OneofOptions or FieldOptions) of `kind`."""
        extension = self._extensions.get(kind)
        if extension is None:
            return ()
        serialized = options.SerializeToString()
        if _RULES_TAG not in serialized:
            return ()  # most elements carry no rules: skip parsing their options again
        parsed = self._classes[kind].FromString(serialized)
        if not parsed.HasExtension(extension):
            return ()
        return tuple(_flatten_rules(parsed.Extensions[extension], ""))


_NANOS = 1_000_000_000
# Rule values that are messages, read as plain values: a CEL rule as (id, expression) (its message text
# is left out: rewording it changes no record's fate), durations and timestamps as nanoseconds.
_REPEATED_RULES: dict[str, Callable[[Any], Any]] = {
    "buf.validate.Rule": lambda rule: (rule.id, rule.expression),
    "buf.validate.MessageOneofRule": lambda rule: (tuple(rule.fields), rule.required),
    "google.protobuf.Duration": lambda value: value.seconds * _NANOS + value.nanos,
    "google.protobuf.Timestamp": lambda value: value.seconds * _NANOS + value.nanos,
    "google.protobuf.FieldMask": lambda value: tuple(value.paths),
}


def _flatten_rules(rules: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for descriptor, value in rules.ListFields():
        name = f"[{descriptor.full_name}]" if descriptor.is_extension else descriptor.name
        path = f"{prefix}{name}"
        message_type = descriptor.message_type
        if message_type is not None and message_type.full_name in _REPEATED_RULES:
            read = _REPEATED_RULES[message_type.full_name]
            yield path, tuple(read(item) for item in value) if _is_repeated(descriptor) else read(value)
        elif message_type is not None:
            if _is_repeated(descriptor):
                yield path, tuple(tuple(_flatten_rules(item, "")) for item in value)
            else:
                yield from _flatten_rules(value, f"{path}.")
        elif descriptor.enum_type is not None:
            names = descriptor.enum_type.values_by_number
            if _is_repeated(descriptor):
                yield path, tuple(_enum_name(names, item) for item in value)
            else:
                yield path, _enum_name(names, value)
        else:
            yield path, tuple(value) if _is_repeated(descriptor) else value


def _enum_name(names: Mapping[int, Any], number: int) -> str | int:
    return str(names[number].name) if number in names else number


def _is_repeated(descriptor: Any) -> bool:
    return bool(descriptor.is_repeated)


def _declares_topic_extension(file_proto: descriptor_pb2.FileDescriptorProto) -> bool:
    package, _, name = TOPIC_EXTENSION.rpartition(".")
    return file_proto.package == package and any(ext.name == name for ext in file_proto.extension)


def _with_imports_first(
    file_proto: descriptor_pb2.FileDescriptorProto, by_name: Mapping[str, descriptor_pb2.FileDescriptorProto]
) -> list[descriptor_pb2.FileDescriptorProto]:
    """`file_proto` and everything it imports, each after its own imports (the order a pool needs)."""
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(current: descriptor_pb2.FileDescriptorProto) -> None:
        if current.name in seen:
            return
        seen.add(current.name)
        for dependency in current.dependency:
            if dependency in by_name:
                visit(by_name[dependency])
        ordered.append(current)

    visit(file_proto)
    return ordered


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


class _FileBuilder:
    def __init__(
        self,
        file_proto: descriptor_pb2.FileDescriptorProto,
        path: str,
        topics: _TopicOptionReader,
        rules: _RulesReader,
    ) -> None:
        self.file_proto = file_proto
        self.path = path
        self.topics = topics
        self.rules = rules
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, Enum] = {}
        self.locations = {tuple(loc.path): loc for loc in file_proto.source_code_info.location}
        # descriptor.proto leaves `syntax` empty for proto2 and says "editions" for editions files.
        self.syntax = file_proto.syntax or "proto2"
        self.edition = _edition_name(file_proto) if self.syntax == "editions" else ""

    def syntax_location(self) -> Location:
        """Where the file says its syntax or edition (FileDescriptorProto fields 12 and 14)."""
        for path in ((_FILE_EDITION,), (_FILE_SYNTAX,)):
            if path in self.locations:
                return self._location(path)
        return Location(self.path, 1, 1, 1)

    def build(self) -> None:
        prefix = self.file_proto.package
        presence = _presence_feature(self.file_proto.options.features, _EXPLICIT)
        for index, message in enumerate(self.file_proto.message_type):
            self._message(message, (_FILE_MESSAGES, index), prefix, None, presence)
        for index, enum in enumerate(self.file_proto.enum_type):
            self._enum(enum, (_FILE_ENUMS, index), prefix, None)

    def _location(self, path: tuple[int, ...]) -> Location:
        loc = self.locations.get(path)
        if loc is None or not loc.span:
            return Location(self.path, 1, 1, 1)
        end_line = loc.span[2] if len(loc.span) == 4 else loc.span[0]
        return Location(self.path, loc.span[0] + 1, loc.span[1] + 1, end_line + 1)

    def _comment(self, path: tuple[int, ...]) -> str:
        loc = self.locations.get(path)
        if loc is None:
            return ""
        lines = [line.removeprefix(" ").rstrip() for line in loc.leading_comments.strip("\n").split("\n")]
        return "\n".join(lines).strip()

    def _message(
        self,
        proto: descriptor_pb2.DescriptorProto,
        path: tuple[int, ...],
        prefix: str,
        parent: str | None,
        presence: int,  # the editions field_presence feature in force here
    ) -> None:
        full_name = f"{prefix}.{proto.name}" if prefix else proto.name
        nested = {f"{full_name}.{n.name}": n for n in proto.nested_type}
        presence = _presence_feature(proto.options.features, presence)
        for index, child in enumerate(proto.nested_type):
            self._message(child, (*path, _MESSAGE_NESTED, index), full_name, full_name, presence)
        for index, enum in enumerate(proto.enum_type):
            self._enum(enum, (*path, _MESSAGE_ENUMS, index), full_name, full_name)
        fields = tuple(
            self._field(one, (*path, _MESSAGE_FIELDS, index), proto, nested, presence)
            for index, one in enumerate(proto.field)
        )
        option = self.topics.read(proto.options) if proto.HasField("options") else None
        topic = None
        if option is not None:
            option_location = self._location((*path, _MESSAGE_OPTIONS, 50000))
            if option_location.line == 1:
                option_location = self._location(path)
            topic = TopicBinding(message=full_name, location=option_location, **option)  # type: ignore[arg-type]
        self.messages[full_name] = Message(
            full_name=full_name,
            name=proto.name,
            package=self.file_proto.package,
            file=self.file_proto.name,
            fields=fields,
            oneofs=tuple(o.name for o in proto.oneof_decl),
            comment=self._comment(path),
            location=self._location(path),
            parent=parent,
            topic=topic,
            is_map_entry=proto.options.map_entry,
            rules=self.rules.read("message", proto.options) if proto.HasField("options") else (),
            oneof_rules=tuple(
                (oneof.name, self.rules.read("oneof", oneof.options))
                for oneof in proto.oneof_decl
                if oneof.HasField("options") and self.rules.read("oneof", oneof.options)
            ),
        )

    def _field(
        self,
        proto: descriptor_pb2.FieldDescriptorProto,
        path: tuple[int, ...],
        owner: descriptor_pb2.DescriptorProto,
        nested: Mapping[str, descriptor_pb2.DescriptorProto],
        presence: int,
    ) -> Field:
        kind, type_name = _field_type(proto)
        map_key: str | None = None
        map_value: Field | None = None
        entry = nested.get(type_name) if kind == "message" else None
        if entry is not None and entry.options.map_entry:
            key_proto, value_proto = entry.field[0], entry.field[1]
            map_key = _field_type(key_proto)[1]
            value_kind, value_type = _field_type(value_proto)
            map_value = Field(
                name="value",
                number=2,
                type_name=value_type,
                kind=value_kind,
                repeated=False,
                comment="",
                location=self._location(path),
                json_name="value",
            )
        oneof = None
        if proto.HasField("oneof_index") and not proto.proto3_optional:
            oneof = owner.oneof_decl[proto.oneof_index].name
        group = proto.type == descriptor_pb2.FieldDescriptorProto.TYPE_GROUP
        return Field(
            name=proto.name,
            number=proto.number,
            type_name=type_name,
            kind=kind,
            repeated=proto.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED and map_value is None,
            comment=self._comment(path) or (self._group_comment(path, owner, type_name) if group else ""),
            location=self._location(path),
            json_name=proto.json_name,
            oneof=oneof,
            map_key=map_key,
            map_value=map_value,
            group=group,
            explicit_presence=self._explicit_presence(proto, kind, map_value is not None, presence),
            rules=self.rules.read("field", proto.options) if proto.HasField("options") else (),
        )

    def _explicit_presence(
        self, proto: descriptor_pb2.FieldDescriptorProto, kind: str, is_map: bool, presence: int
    ) -> bool:
        """Whether a singular scalar or enum field tracks presence (messages always do, lists never)."""
        field_type = descriptor_pb2.FieldDescriptorProto
        if kind == "message" or is_map or proto.label == field_type.LABEL_REPEATED:
            return False
        if proto.HasField("oneof_index") and not proto.proto3_optional:
            return False  # a oneof member's presence is the oneof's case, not a field of its own
        if self.syntax == "proto3":
            return proto.proto3_optional
        if self.syntax == "proto2":
            return proto.label == field_type.LABEL_OPTIONAL
        return _presence_feature(proto.options.features, presence) == _EXPLICIT

    def _group_comment(self, field_path: tuple[int, ...], owner: descriptor_pb2.DescriptorProto, type_name: str) -> str:
        """A proto2 group's comment is attached to the message the group declares, not to its field."""
        message_path = field_path[:-2]
        for index, nested in enumerate(owner.nested_type):
            if type_name.endswith(f".{nested.name}"):
                return self._comment((*message_path, _MESSAGE_NESTED, index))
        return ""

    def _enum(
        self, proto: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], prefix: str, parent: str | None
    ) -> None:
        full_name = f"{prefix}.{proto.name}" if prefix else proto.name
        self.enums[full_name] = Enum(
            full_name=full_name,
            name=proto.name,
            package=self.file_proto.package,
            file=self.file_proto.name,
            values=tuple((value.name, value.number) for value in proto.value),
            comment=self._comment(path),
            location=self._location(path),
            parent=parent,
        )


def _presence_feature(features: descriptor_pb2.FeatureSet, inherited: int) -> int:
    return features.field_presence if features.HasField("field_presence") else inherited


def _edition_name(file_proto: descriptor_pb2.FileDescriptorProto) -> str:
    """`EDITION_2023` -> `2023`."""
    name = descriptor_pb2.Edition.Name(file_proto.edition) if file_proto.edition else "EDITION_UNKNOWN"
    return name.removeprefix("EDITION_").lower() if not name[-4:].isdigit() else name[-4:]


def _field_type(proto: descriptor_pb2.FieldDescriptorProto) -> tuple[str, str]:
    # A group (proto2, or a DELIMITED field in editions) is a message field with another wire encoding.
    if proto.type in (descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE, descriptor_pb2.FieldDescriptorProto.TYPE_GROUP):
        return "message", proto.type_name.lstrip(".")
    if proto.type == descriptor_pb2.FieldDescriptorProto.TYPE_ENUM:
        return "enum", proto.type_name.lstrip(".")
    return "scalar", _SCALAR_NAMES[proto.type]
