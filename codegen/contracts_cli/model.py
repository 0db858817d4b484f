"""Registry, Topic, Message: plain frozen dataclasses built from a buf image.

Everything downstream (rules, breaking, generators, docs, apply) reads this
model and never the descriptors, so a question about the registry has one answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from contracts_cli.config import RegistryRoot

TOPIC_EXTENSION = "contracts.v1.topic"
COMPATIBILITY_LEVELS = ("none", "wire", "wire_json", "source")  # weakest to strictest
_COMPATIBILITY_BY_NUMBER = {0: "source", 1: "none", 2: "wire", 3: "wire_json", 4: "source"}

# Field numbers inside descriptor.proto, used to address SourceCodeInfo locations.
_FILE_MESSAGES, _FILE_ENUMS = 4, 5
_MESSAGE_FIELDS, _MESSAGE_NESTED, _MESSAGE_ENUMS, _MESSAGE_OPTIONS = 2, 3, 4, 7
_ENUM_VALUES = 2

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
        """Files of the registry itself, without google/protobuf imports."""
        return (f for f in self.files.values() if not f.name.startswith("google/protobuf/"))


def _referenced_types(fields: Iterable[Field]) -> Iterator[str]:
    for one in fields:
        target = one.map_value if one.map_value else one
        if target.kind != "scalar":
            yield target.type_name


def build_registry(descriptors: descriptor_pb2.FileDescriptorSet, root: RegistryRoot) -> Registry:
    topic_reader = _TopicOptionReader(descriptors)
    files: dict[str, ProtoFile] = {}
    messages: dict[str, Message] = {}
    enums: dict[str, Enum] = {}
    for file_proto in descriptors.file:
        builder = _FileBuilder(file_proto, root.repo_path(file_proto.name), topic_reader)
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
        )
    return Registry(files=files, messages=messages, enums=enums, descriptors=descriptors)


class _TopicOptionReader:
    """Reads the (contracts.v1.topic) option, whose schema is the registry's own options.proto.

    The extension is resolved in a pool built from the image, so the option
    schema the registry declares is the one that is read.
    """

    def __init__(self, descriptors: descriptor_pb2.FileDescriptorSet) -> None:
        self._extension: Any = None
        self._options_class: Any = None
        if not any(f.package == "contracts.v1" for f in descriptors.file):
            return
        pool = descriptor_pool.DescriptorPool()
        for file_proto in descriptors.file:
            pool.Add(file_proto)
        try:
            self._extension = pool.FindExtensionByName(TOPIC_EXTENSION)
        except KeyError:
            return
        options_type = pool.FindMessageTypeByName("google.protobuf.MessageOptions")
        self._options_class = message_factory.GetMessageClass(options_type)

    def read(self, options: descriptor_pb2.MessageOptions) -> dict[str, object] | None:
        if self._extension is None or self._options_class is None:
            return None
        parsed = self._options_class.FromString(options.SerializeToString())
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
        }


class _FileBuilder:
    def __init__(self, file_proto: descriptor_pb2.FileDescriptorProto, path: str, topics: _TopicOptionReader) -> None:
        self.file_proto = file_proto
        self.path = path
        self.topics = topics
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, Enum] = {}
        self.locations = {tuple(loc.path): loc for loc in file_proto.source_code_info.location}

    def build(self) -> None:
        prefix = self.file_proto.package
        for index, message in enumerate(self.file_proto.message_type):
            self._message(message, (_FILE_MESSAGES, index), prefix, None)
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
        self, proto: descriptor_pb2.DescriptorProto, path: tuple[int, ...], prefix: str, parent: str | None
    ) -> None:
        full_name = f"{prefix}.{proto.name}" if prefix else proto.name
        nested = {f"{full_name}.{n.name}": n for n in proto.nested_type}
        for index, child in enumerate(proto.nested_type):
            self._message(child, (*path, _MESSAGE_NESTED, index), full_name, full_name)
        for index, enum in enumerate(proto.enum_type):
            self._enum(enum, (*path, _MESSAGE_ENUMS, index), full_name, full_name)
        fields = tuple(
            self._field(one, (*path, _MESSAGE_FIELDS, index), proto, nested) for index, one in enumerate(proto.field)
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
        )

    def _field(
        self,
        proto: descriptor_pb2.FieldDescriptorProto,
        path: tuple[int, ...],
        owner: descriptor_pb2.DescriptorProto,
        nested: Mapping[str, descriptor_pb2.DescriptorProto],
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
        return Field(
            name=proto.name,
            number=proto.number,
            type_name=type_name,
            kind=kind,
            repeated=proto.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED and map_value is None,
            comment=self._comment(path),
            location=self._location(path),
            json_name=proto.json_name,
            oneof=oneof,
            map_key=map_key,
            map_value=map_value,
        )

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


def _field_type(proto: descriptor_pb2.FieldDescriptorProto) -> tuple[str, str]:
    if proto.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
        return "message", proto.type_name.lstrip(".")
    if proto.type == descriptor_pb2.FieldDescriptorProto.TYPE_ENUM:
        return "enum", proto.type_name.lstrip(".")
    return "scalar", _SCALAR_NAMES[proto.type]
