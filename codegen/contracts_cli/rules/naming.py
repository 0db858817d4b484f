"""Rules about topic names: what Kafka accepts and what keeps versions and names apart."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from contracts_cli.findings import Finding
from contracts_cli.model import Registry, TopicBinding
from contracts_cli.rules.base import finding, rule
from contracts_cli.rules.binding import package_major_version

KAFKA_TOPIC_CHARS = re.compile(r"^[a-zA-Z0-9._-]+$")
KAFKA_TOPIC_MAX_LENGTH = 249
VERSION_SUFFIX = re.compile(r"\.v(\d+)$")


@rule("TOPIC_NAME_VALID", "Topic names are valid Kafka topic names.")
def name_valid(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        problem = kafka_name_problem(topic.name)
        if topic.name and problem:
            yield finding(topic.location, "TOPIC_NAME_VALID", f'topic "{topic.name}" {problem}')


def kafka_name_problem(name: str) -> str | None:
    if name in (".", ".."):
        return 'cannot be "." or ".."'
    if len(name) > KAFKA_TOPIC_MAX_LENGTH:
        return f"is {len(name)} characters long; Kafka allows at most {KAFKA_TOPIC_MAX_LENGTH}"
    if not KAFKA_TOPIC_CHARS.match(name):
        return "may only contain ASCII letters, digits, '.', '_' and '-'"
    return None


@rule("TOPIC_NAME_VERSION", "Topic names end in .v<N>, the major version of the message's package.")
def name_version(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        major = package_major_version(registry.messages[topic.message].package)
        if not topic.name or major is None:
            continue  # TOPIC_NAME_REQUIRED and TOPIC_PACKAGE_VERSIONED say what is wrong
        suffix = VERSION_SUFFIX.search(topic.name)
        if suffix is None or int(suffix.group(1)) != major or suffix.group(1) != str(major):
            yield finding(
                topic.location,
                "TOPIC_NAME_VERSION",
                f'topic "{topic.name}" must end in ".v{major}", the major version of package '
                f'"{registry.messages[topic.message].package}"',
            )


def identifier_form(topic_name: str) -> str:
    """The name generated code gives a topic: `audit.events.v1` -> `AUDIT_EVENTS_V1` (and `AuditEventsV1`)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", topic_name).strip("_").upper()


@rule("TOPIC_IDENTIFIER_COLLISION", "Topic names stay distinct as generated identifiers (AUDIT_EVENTS_V1).")
def identifier_collision(registry: Registry) -> Iterator[Finding]:
    by_identifier: dict[str, list[TopicBinding]] = defaultdict(list)
    for topic in registry.topics:
        by_identifier[identifier_form(topic.name)].append(topic)
    for identifier, bindings in by_identifier.items():
        names = sorted({b.name for b in bindings})
        if len(names) < 2 or len(names) != len({n.replace(".", "_") for n in names}):
            continue  # one name, or already a TOPIC_NAME_COLLISION
        for binding in bindings:
            others = ", ".join(f'"{name}"' for name in names if name != binding.name)
            yield finding(
                binding.location,
                "TOPIC_IDENTIFIER_COLLISION",
                f'topic "{binding.name}" and {others} would both become {identifier} in generated code',
            )


@rule("TOPIC_NAME_COLLISION", "Topic names stay distinct when '.' and '_' are treated alike (Kafka's metric names do).")
def name_collision(registry: Registry) -> Iterator[Finding]:
    by_normal_form: dict[str, list[TopicBinding]] = defaultdict(list)
    for topic in registry.topics:
        by_normal_form[topic.name.replace(".", "_")].append(topic)
    for bindings in by_normal_form.values():
        names = sorted({b.name for b in bindings})
        if len(names) < 2:
            continue
        for binding in bindings:
            others = ", ".join(f'"{name}"' for name in names if name != binding.name)
            yield finding(
                binding.location,
                "TOPIC_NAME_COLLISION",
                f'topic "{binding.name}" collides with {others} once "." and "_" are treated alike',
            )
