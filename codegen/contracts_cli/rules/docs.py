"""Rules that make a contract document itself."""

from __future__ import annotations

from collections.abc import Iterator

from contracts_cli.findings import Finding
from contracts_cli.model import Registry
from contracts_cli.rules.base import finding, rule


@rule("TOPIC_MESSAGE_COMMENT", "A bound message has a leading comment saying what it is.")
def message_comment(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        message = registry.messages[topic.message]
        if not message.comment:
            yield finding(
                message.location,
                "TOPIC_MESSAGE_COMMENT",
                f"{message.full_name} is bound to a topic but has no leading comment saying what it is",
            )


@rule("TOPIC_FIELD_COMMENT", "Every field of a bound message has a leading comment.")
def field_comment(registry: Registry) -> Iterator[Finding]:
    for topic in registry.topics:
        message = registry.messages[topic.message]
        for one in message.fields:
            if not one.comment:
                yield finding(
                    one.location,
                    "TOPIC_FIELD_COMMENT",
                    f'field "{one.name}" of {message.full_name} has no leading comment',
                )
