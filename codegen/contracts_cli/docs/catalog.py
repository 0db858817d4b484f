"""The catalog model: what every page of `contracts docs` shows, decided here so templates only print.

Built from the registry model, the history of each contract file and (optionally) a snapshot
of the cluster. Every sequence is sorted, so the same inputs always give the same pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from contracts_cli.config import Settings
from contracts_cli.docs.cluster import ClusterSnapshot, TopicState
from contracts_cli.docs.history import Change
from contracts_cli.docs.snippets import Snippet, topic_snippets
from contracts_cli.model import TOPIC_EXTENSION, Enum, Field, Message, Registry, TopicBinding

WELL_KNOWN_PREFIX = "google.protobuf."
# The registry's own option schema (contracts.v1.Topic, ...) describes bindings; it is not a contract.
OPTIONS_PACKAGE = TOPIC_EXTENSION.rsplit(".", 1)[0]
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")


@dataclass(frozen=True)
class Link:
    label: str
    href: str  # relative to the catalog root; "" when the target has no page
    title: str = ""


@dataclass(frozen=True)
class FieldType:
    """How a field's type prints: `prefix` + a link to `target` + `suffix` (e.g. `map<string, ` X `>`)."""

    prefix: str
    target: Link
    suffix: str
    note: str  # "well-known type" and the like, shown as a hint


@dataclass(frozen=True)
class FieldRow:
    number: int
    name: str
    type: FieldType
    comment: str
    oneof: str  # the oneof's name, "" when the field is in none
    is_key: bool


@dataclass(frozen=True)
class Oneof:
    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Setting:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class EnumValue:
    name: str
    number: int


@dataclass(frozen=True)
class TopicPage:
    name: str
    href: str
    message: Link
    message_name: str
    comment: str
    file: str
    owner: str
    compatibility: str
    key: str
    partitions: str
    retention: str
    settings: tuple[Setting, ...]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    fields: tuple[FieldRow, ...]
    oneofs: tuple[Oneof, ...]
    types_used: tuple[Link, ...]
    snippets: tuple[Snippet, ...]
    history: tuple[Change, ...]
    cluster: TopicState | None


@dataclass(frozen=True)
class TypePage:
    full_name: str
    name: str
    kind: str  # "message" | "enum"
    href: str
    comment: str
    file: str
    parent: Link | None
    nested: tuple[Link, ...]
    fields: tuple[FieldRow, ...]
    oneofs: tuple[Oneof, ...]
    values: tuple[EnumValue, ...]
    used_by: tuple[Link, ...]
    history: tuple[Change, ...]


@dataclass(frozen=True)
class SearchEntry:
    kind: str  # "topic" | "message" | "enum" | "field" | "owner"
    name: str
    detail: str
    href: str
    topics: tuple[str, ...]  # the topics this entry leads to

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
            "href": self.href,
            "topics": list(self.topics),
        }


@dataclass(frozen=True)
class Catalog:
    topics: tuple[TopicPage, ...]
    types: tuple[TypePage, ...]
    search: tuple[SearchEntry, ...]
    cluster: ClusterSnapshot | None
    has_history: bool


History = Callable[[str], tuple[Change, ...]]


def build_catalog(
    registry: Registry, settings: Settings, history: History, has_history: bool, snapshot: ClusterSnapshot | None
) -> Catalog:
    builder = _CatalogBuilder(registry, settings, history, snapshot)
    topics = tuple(builder.topic_page(binding) for binding in registry.topics)
    types = tuple(builder.type_page(name) for name in sorted(builder.type_hrefs))
    return Catalog(
        topics=topics,
        types=types,
        search=_search_index(topics, types),
        cluster=snapshot,
        has_history=has_history,
    )


class _CatalogBuilder:
    def __init__(self, registry: Registry, settings: Settings, history: History, snapshot: ClusterSnapshot | None):
        self.registry = registry
        self.settings = settings
        self.history = history
        self.snapshot = snapshot
        # Pages are keyed by the bound message: a broken registry may bind one topic name twice.
        self.topic_hrefs = _unique_hrefs("topics", {topic.message: topic.name for topic in registry.topics})
        self.type_hrefs = _unique_hrefs("types", {name: name for name in _shared_type_names(registry)})
        # The topics (by bound message) each type is reachable from (Registry.uses), bound messages included.
        self.topics_using: dict[str, list[TopicBinding]] = {}
        for topic in registry.topics:
            for used in registry.uses(topic.message):
                self.topics_using.setdefault(used, []).append(topic)
        self.children: dict[str, list[str]] = {}
        for name in sorted(self.type_hrefs):
            parent = _parent_of(registry, name)
            if parent:
                self.children.setdefault(parent, []).append(name)

    def topic_link(self, topic: TopicBinding) -> Link:
        return Link(topic.name, self.topic_hrefs[topic.message])

    def type_link(self, full_name: str, relative_to: str = "") -> Link:
        label = full_name.removeprefix(f"{relative_to}.") if relative_to else full_name
        href = self.topic_hrefs.get(full_name) or self.type_hrefs.get(full_name, "")
        return Link(label, href, full_name)

    def topic_page(self, binding: TopicBinding) -> TopicPage:
        message = self.registry.messages[binding.message]
        # Well-known types are marked where a field uses them; their own internals are no news.
        used = sorted(
            name
            for name in self.registry.uses(message.full_name) - {message.full_name}
            if not name.startswith(WELL_KNOWN_PREFIX)
        )
        href = self.topic_hrefs[binding.message]
        return TopicPage(
            name=binding.name,
            href=href,
            message=Link(message.full_name, href, message.full_name),
            message_name=message.name,
            comment=prose(message.comment),
            file=message.location.path,
            owner=binding.owner,
            compatibility=binding.compatibility,
            key=binding.key,
            partitions=str(binding.partitions) if binding.partitions is not None else "cluster default",
            retention=binding.retention or "cluster default",
            settings=_topic_settings(binding),
            producers=binding.producers,
            consumers=binding.consumers,
            fields=self.field_rows(message, key=binding.key),
            oneofs=_oneofs(message),
            types_used=tuple(self.type_link(name) for name in used if not self._is_map_entry(name)),
            snippets=topic_snippets(self.registry, self.settings, binding),
            history=self.history(message.location.path),
            cluster=self.snapshot.topics.get(binding.name) if self.snapshot else None,
        )

    def type_page(self, full_name: str) -> TypePage:
        message = self.registry.messages.get(full_name)
        enum = self.registry.enums.get(full_name)
        described: Message | Enum = message if message is not None else _required(enum, full_name)
        return TypePage(
            full_name=full_name,
            name=described.name,
            kind="message" if message is not None else "enum",
            href=self.type_hrefs[full_name],
            comment=prose(described.comment),
            file=described.location.path,
            parent=self.type_link(described.parent) if described.parent else None,
            nested=tuple(self.type_link(name) for name in self.children.get(full_name, ())),
            fields=self.field_rows(message) if message is not None else (),
            oneofs=_oneofs(message) if message is not None else (),
            values=tuple(EnumValue(name, number) for name, number in enum.values) if enum is not None else (),
            used_by=tuple(self.topic_link(topic) for topic in self.topics_using.get(full_name, ())),
            history=self.history(described.location.path),
        )

    def field_rows(self, message: Message, key: str = "") -> tuple[FieldRow, ...]:
        return tuple(
            FieldRow(
                number=field.number,
                name=field.name,
                type=self.field_type(field, message.package),
                comment=prose(field.comment),
                oneof=field.oneof or "",
                is_key=bool(key) and field.name == key,
            )
            for field in sorted(message.fields, key=lambda one: one.number)
        )

    def field_type(self, field: Field, package: str) -> FieldType:
        if field.map_value is not None:
            target = field.map_value
            return FieldType(f"map<{field.map_key}, ", self._target(target, package), ">", _note(target))
        prefix = "repeated " if field.repeated else ""
        return FieldType(prefix, self._target(field, package), "", _note(field))

    def _target(self, field: Field, package: str) -> Link:
        if field.kind == "scalar":
            return Link(field.type_name, "")
        return self.type_link(field.type_name, relative_to=package)

    def _is_map_entry(self, name: str) -> bool:
        message = self.registry.messages.get(name)
        return message is not None and message.is_map_entry


def prose(comment: str) -> str:
    """A proto comment as paragraphs: hard-wrapped lines joined, blank lines and list items kept."""
    paragraphs = re.split(r"\n\s*\n", comment.strip())
    return "\n\n".join(_join_lines(paragraph) for paragraph in paragraphs if paragraph.strip())


def _join_lines(paragraph: str) -> str:
    lines: list[str] = []
    for line in paragraph.splitlines():
        text = " ".join(line.split())
        if lines and not _LIST_ITEM.match(text):
            lines[-1] = f"{lines[-1]} {text}".strip()
        else:
            lines.append(text)
    return "\n".join(lines)


def _required(enum: Enum | None, full_name: str) -> Enum:
    if enum is None:
        raise KeyError(full_name)  # type_hrefs only holds names of messages and enums
    return enum


def _parent_of(registry: Registry, name: str) -> str | None:
    described = registry.messages.get(name) or registry.enums.get(name)
    return described.parent if described else None


def _shared_type_names(registry: Registry) -> set[str]:
    """Messages and enums of the registry's own files that no topic binds (nested ones included)."""
    local = {f.name for f in registry.local_files() if f.package != OPTIONS_PACKAGE}
    names = {
        message.full_name
        for message in registry.messages.values()
        if message.file in local and message.topic is None and not message.is_map_entry
    }
    names.update(enum.full_name for enum in registry.enums.values() if enum.file in local)
    return names


def _unique_hrefs(directory: str, names: Mapping[str, str]) -> dict[str, str]:
    """A file per key, named after its name made safe for file systems; a clash gets a numeric suffix."""
    hrefs: dict[str, str] = {}
    taken: set[str] = set()
    for key, name in sorted(names.items(), key=lambda item: (item[1], item[0])):
        stem = _UNSAFE_FILE_CHARS.sub("_", name).strip(".") or "_"
        candidate, counter = stem, 2
        while candidate.lower() in taken:  # case-insensitive file systems
            candidate, counter = f"{stem}-{counter}", counter + 1
        taken.add(candidate.lower())
        hrefs[key] = f"{directory}/{candidate}.html"
    return hrefs


def _note(field: Field) -> str:
    if field.kind != "scalar" and field.type_name.startswith(WELL_KNOWN_PREFIX):
        return "well-known type"
    return ""


def _oneofs(message: Message) -> tuple[Oneof, ...]:
    members: dict[str, list[str]] = {}
    for field in sorted(message.fields, key=lambda one: one.number):
        if field.oneof:
            members.setdefault(field.oneof, []).append(field.name)
    return tuple(Oneof(name, tuple(members[name])) for name in message.oneofs if name in members)


def _topic_settings(binding: TopicBinding) -> tuple[Setting, ...]:
    retention_ms = binding.retention_ms
    if not binding.retention:
        retention = Setting("Retention", "cluster default")
    elif retention_ms == -1:
        retention = Setting("Retention", binding.retention, "retention.ms=-1, kept forever")
    elif retention_ms is not None:
        retention = Setting("Retention", binding.retention, f"retention.ms={retention_ms}")
    else:
        retention = Setting("Retention", binding.retention, "not a valid duration")
    return (
        Setting("Key", binding.key or "none", "" if binding.key else "records are written without a key"),
        Setting("Partitions", str(binding.partitions) if binding.partitions is not None else "cluster default"),
        Setting(
            "Replication factor",
            str(binding.replication_factor) if binding.replication_factor is not None else "cluster default",
        ),
        retention,
        Setting("Cleanup policy", binding.cleanup_policy or "delete", "" if binding.cleanup_policy else "default"),
        Setting("Owner", binding.owner or "not set"),
        Setting("Compatibility", binding.compatibility, "checked by contracts breaking"),
        Setting("Dead-letter topic", binding.dlq_name),
    )


def _search_index(topics: Iterable[TopicPage], types: Iterable[TypePage]) -> tuple[SearchEntry, ...]:
    entries: list[SearchEntry] = []
    owners: dict[str, list[TopicPage]] = {}
    for topic in topics:
        entries.append(SearchEntry("topic", topic.name, topic.message.label, topic.href, (topic.name,)))
        entries.append(SearchEntry("message", topic.message.label, f"on topic {topic.name}", topic.href, (topic.name,)))
        entries.extend(
            SearchEntry(
                "field",
                field.name,
                f"{topic.message_name}.{field.name}: {_type_text(field.type)}",
                f"{topic.href}#field-{field.name}",
                (topic.name,),
            )
            for field in topic.fields
        )
        if topic.owner:
            owners.setdefault(topic.owner, []).append(topic)
    for shared in types:
        used_by = tuple(link.label for link in shared.used_by)
        summary = shared.comment.split("\n", 1)[0] if shared.comment else ""
        detail = summary if used_by else f"{summary} (used by no topic)".strip()
        entries.append(SearchEntry(shared.kind, shared.full_name, detail, shared.href, used_by))
        entries.extend(
            SearchEntry(
                "field",
                field.name,
                f"{shared.full_name}.{field.name}: {_type_text(field.type)}",
                f"{shared.href}#field-{field.name}",
                used_by,
            )
            for field in shared.fields
        )
    for owner, owned in owners.items():
        names = tuple(sorted(topic.name for topic in owned))
        entries.append(SearchEntry("owner", owner, f"owns {', '.join(names)}", owned[0].href, names))
    return tuple(sorted(entries, key=lambda entry: (entry.name.lower(), entry.kind, entry.detail, entry.href)))


def _type_text(field_type: FieldType) -> str:
    return f"{field_type.prefix}{field_type.target.label}{field_type.suffix}"


def search_payload(entries: Iterable[SearchEntry]) -> list[dict[str, object]]:
    return [entry.as_dict() for entry in entries]


__all__ = ["Catalog", "SearchEntry", "TopicPage", "TypePage", "build_catalog", "search_payload"]
