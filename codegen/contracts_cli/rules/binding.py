"""Rules about which message types may be bound to a topic, and how often."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from contracts_cli.findings import Finding
from contracts_cli.model import Registry, TopicBinding
from contracts_cli.rules.base import finding, rule

MAJOR_VERSION = re.compile(r"^v(\d+)(?:(?:alpha|beta)\d*|p\d+(?:alpha|beta)\d*)?$")


def package_major_version(package: str) -> int | None:
    """`audit.v1` -> 1, `audit.v2beta1` -> 2; None when the last component is no version."""
    match = MAJOR_VERSION.match(package.rsplit(".", 1)[-1])
    return int(match.group(1)) if match else None


@rule("TOPIC_ONE_TYPE", "A topic is bound by exactly one message type.")
def one_type_per_topic(registry: Registry) -> Iterator[Finding]:
    by_name: dict[str, list[TopicBinding]] = defaultdict(list)
    for topic in registry.topics:
        by_name[topic.name].append(topic)
    for name, bindings in by_name.items():
        if len(bindings) < 2:
            continue
        where = ", ".join(f"{b.message} ({b.location.path}:{b.location.line})" for b in bindings)
        for binding in bindings:
            yield finding(
                binding.location, "TOPIC_ONE_TYPE", f'topic "{name}" is bound by {len(bindings)} message types: {where}'
            )


@rule("TOPIC_NAME_REQUIRED", "A topic binding names its topic.")
def name_required(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        if not topic.name:
            yield finding(topic.location, "TOPIC_NAME_REQUIRED", f"the topic binding of {topic.message} has no name")


@rule("TOPIC_MESSAGE_TOP_LEVEL", "Topics bind top-level message types, not nested ones.")
def message_top_level(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        message = registry.messages[topic.message]
        if message.parent:
            yield finding(
                topic.location,
                "TOPIC_MESSAGE_TOP_LEVEL",
                f"{topic.message} is nested in {message.parent}: "
                "move it to the top level of its file to bind it to a topic",
            )


@rule("TOPIC_PACKAGE_VERSIONED", "A bound message's package ends in a major version (v1, v2, ...).")
def package_versioned(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        package = registry.messages[topic.message].package
        if package_major_version(package) is None:
            yield finding(
                topic.location,
                "TOPIC_PACKAGE_VERSIONED",
                f'package "{package}" of {topic.message} has no major version suffix such as "{package or "name"}.v1"',
            )
