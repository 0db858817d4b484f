"""Rules about a binding's topic settings: key, sizing, retention, cleanup and principals."""

from __future__ import annotations

import re
from collections.abc import Iterator

from contracts_cli.findings import Finding
from contracts_cli.model import Registry, normalize_principal, parse_retention
from contracts_cli.rules.base import finding, rule

KEY_SCALARS = frozenset(
    {
        "string",
        "bytes",
        "bool",
        "int32",
        "int64",
        "uint32",
        "uint64",
        "sint32",
        "sint64",
        "fixed32",
        "fixed64",
        "sfixed32",
        "sfixed64",
    }
)
CLEANUP_POLICIES = ("delete", "compact")
# Either TYPE:NAME with a non-empty name, or a bare name (no colon) that means User:NAME.
PRINCIPAL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*:[^\s:]\S*|[^\s:]+)$")


@rule("TOPIC_KEY_FIELD", "The key names a top-level scalar (string, bytes, integer, bool or enum) field.")
def key_field(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        if not topic.key:
            continue
        message = registry.messages[topic.message]
        target = message.field_named(topic.key)
        if target is None:
            yield finding(topic.location, "TOPIC_KEY_FIELD", f'key "{topic.key}" is not a field of {topic.message}')
        elif target.repeated or target.is_map:
            yield finding(
                topic.location, "TOPIC_KEY_FIELD", f'key "{topic.key}" is a repeated or map field; a key is one value'
            )
        elif target.group:
            yield finding(
                topic.location,
                "TOPIC_KEY_FIELD",
                f'key "{topic.key}" is a group (a message field); a key must be a string, bytes, integer, bool '
                "or enum field",
            )
        elif target.kind == "message" or (target.kind == "scalar" and target.type_name not in KEY_SCALARS):
            yield finding(
                topic.location,
                "TOPIC_KEY_FIELD",
                f'key "{topic.key}" has type {target.type_name}; '
                "a key must be a string, bytes, integer, bool or enum field",
            )


@rule("TOPIC_KEY_PRESENCE", "The key field always has a value: it is neither `optional` nor a member of a oneof.")
def key_presence(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        target = registry.messages[topic.message].field_named(topic.key) if topic.key else None
        if target is None or target.kind == "message" or target.repeated or target.is_map:
            continue  # TOPIC_KEY_FIELD says what is wrong
        if target.oneof:
            yield finding(
                topic.location,
                "TOPIC_KEY_PRESENCE",
                f'key "{topic.key}" is a member of oneof "{target.oneof}": records whose oneof holds another '
                "member would have no key; move the field out of the oneof",
            )
        elif target.explicit_presence:
            yield finding(
                topic.location,
                "TOPIC_KEY_PRESENCE",
                f'key "{topic.key}" is optional: an unset key sends records to one partition and compaction '
                'merges them; drop "optional" (proto2: make it "required"; editions: field_presence = IMPLICIT)',
            )


@rule("TOPIC_PARTITIONS_POSITIVE", "Partitions are at least 1 when set.")
def partitions_positive(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        if topic.partitions is not None and topic.partitions < 1:
            yield finding(
                topic.location, "TOPIC_PARTITIONS_POSITIVE", f"partitions is {topic.partitions}; it must be at least 1"
            )


@rule("TOPIC_REPLICATION_FACTOR_POSITIVE", "Replication factor is at least 1 when set.")
def replication_factor_positive(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        if topic.replication_factor is not None and topic.replication_factor < 1:
            yield finding(
                topic.location,
                "TOPIC_REPLICATION_FACTOR_POSITIVE",
                f"replication_factor is {topic.replication_factor}; it must be at least 1",
            )


@rule("TOPIC_RETENTION_VALID", "Retention is a duration (ms, s, m, h, d, w) or 'infinite'.")
def retention_valid(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        if not topic.retention:
            continue
        try:
            parse_retention(topic.retention)
        except ValueError as error:
            yield finding(topic.location, "TOPIC_RETENTION_VALID", str(error))


@rule("TOPIC_CLEANUP_POLICY_VALID", "cleanup_policy is 'delete' or 'compact'.")
def cleanup_policy_valid(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        if topic.cleanup_policy and topic.cleanup_policy not in CLEANUP_POLICIES:
            yield finding(
                topic.location,
                "TOPIC_CLEANUP_POLICY_VALID",
                f'cleanup_policy "{topic.cleanup_policy}" is not one of "delete", "compact"',
            )


@rule("TOPIC_COMPACT_NEEDS_KEY", "A compacted topic has a key: Kafka rejects unkeyed records on compacted topics.")
def compact_needs_key(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        if topic.cleanup_policy == "compact" and not topic.key:
            yield finding(
                topic.location,
                "TOPIC_COMPACT_NEEDS_KEY",
                f'topic "{topic.name}" is compacted but has no key; compaction keeps the latest record per key',
            )


@rule("TOPIC_PRINCIPAL_VALID", "Producers and consumers are Kafka principals (User:name or a bare name), listed once.")
def principal_valid(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        for role, principals in (("producers", topic.producers), ("consumers", topic.consumers)):
            seen: set[str] = set()
            for principal in principals:
                if principal.rsplit(":", 1)[-1] == "*":
                    yield finding(
                        topic.location,
                        "TOPIC_PRINCIPAL_VALID",
                        f'{role} entry "{principal}" is a wildcard; a contract names the principals it trusts',
                    )
                elif not PRINCIPAL.match(principal):
                    yield finding(
                        topic.location,
                        "TOPIC_PRINCIPAL_VALID",
                        f'{role} entry "{principal}" is not a Kafka principal such as "User:svc-billing"',
                    )
                normal = normalize_principal(principal)
                if normal in seen:
                    yield finding(topic.location, "TOPIC_PRINCIPAL_VALID", f'{role} lists "{normal}" twice')
                seen.add(normal)
