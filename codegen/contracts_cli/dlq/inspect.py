"""`contracts dlq inspect`: what a dead-letter topic holds, grouped by reason and rule.

A dead letter for validation counts in the group of each rule it broke; any other dead letter in
the group of its reason alone (rule None). Examples are the first dead letters of each group,
decoded to JSON through the current contract, or shown as bytes when they do not decode.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from contracts_runtime import envelope

from contracts_cli.dlq.contract import Contract, to_json
from contracts_cli.dlq.reading import DeadLetter

_PREVIEW_BYTES = 64


@dataclass
class Group:
    reason: str
    rule_id: str | None
    count: int = 0
    fields: dict[str, None] = field(default_factory=dict)  # the fields the rule was broken on, in order
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Inspection:
    topic: str
    dlq_topic: str
    read: int = 0  # dead letters in the topic (up to its end when we started)
    matched: int = 0  # of those, selected by --reason and --rule
    groups: dict[tuple[str, str | None], Group] = field(default_factory=dict)


def inspect_letters(
    contract: Contract,
    letters: Any,
    *,
    dlq_topic: str,
    reason: str | None,
    rule: str | None,
    limit: int,
) -> Inspection:
    inspection = Inspection(contract.binding.name, dlq_topic)
    for letter in letters:
        inspection.read += 1
        if not letter.matches(reason, rule):
            continue
        inspection.matched += 1
        for rule_id in letter.rule_ids or [None]:
            if rule is not None and rule_id != rule:
                continue
            key = (letter.reason, rule_id)
            group = inspection.groups.setdefault(key, Group(letter.reason, rule_id))
            group.count += 1
            group.fields.update(
                dict.fromkeys(v.field or "(message)" for v in letter.violations if v.rule_id == rule_id)
            )
            if len(group.examples) < limit:
                group.examples.append(example(contract, letter))
    return inspection


def example(contract: Contract, letter: DeadLetter) -> dict[str, Any]:
    """One dead letter for people: where it came from, why, and its value as JSON (or bytes)."""
    message = contract.decode(letter.value)
    shown: dict[str, Any] = {
        "partition": letter.partition,
        "offset": letter.offset,
        "key": _text_or_base64(letter.key),
        "reason": letter.reason,
        "error": letter.header(envelope.DLQ_ERROR),
        "violations": [{"rule_id": v.rule_id, "field": v.field} for v in letter.violations],
        "original": _original(letter),
        "attempts": _int(letter.header(envelope.DLQ_ATTEMPTS)),
        "first_failure_time": letter.header(envelope.DLQ_FIRST_FAILURE_TIME),
        "last_failure_time": letter.header(envelope.DLQ_LAST_FAILURE_TIME),
        "ce_type": letter.header(envelope.CE_TYPE),
        "replayed_from": letter.header(envelope.REPLAYED_FROM),
    }
    if message is not None and letter.ce_type == contract.type_name.encode():
        shown["message"] = to_json(message)
    else:
        shown["value_base64"] = None if letter.value is None else base64.b64encode(letter.value).decode()
    return shown


def _original(letter: DeadLetter) -> str | None:
    topic = letter.header(envelope.DLQ_TOPIC)
    if topic is None:
        return None
    return f"{topic}[{letter.header(envelope.DLQ_PARTITION)}]@{letter.header(envelope.DLQ_OFFSET)}"


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _text_or_base64(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode()


def render_json(inspection: Inspection) -> str:
    return json.dumps(
        {
            "topic": inspection.topic,
            "dlq_topic": inspection.dlq_topic,
            "dead_letters": inspection.read,
            "matched": inspection.matched,
            "groups": [
                {
                    "reason": group.reason,
                    "rule_id": group.rule_id,
                    "count": group.count,
                    "fields": list(group.fields),
                    "examples": group.examples,
                }
                for group in _ordered(inspection)
            ],
        },
        indent=2,
    )


def render_text(inspection: Inspection) -> str:
    selected = "" if inspection.matched == inspection.read else f", {inspection.matched} selected"
    lines = [f"{inspection.dlq_topic}: {inspection.read} dead letters{selected}"]
    for group in _ordered(inspection):
        rule = f" {group.rule_id}" if group.rule_id else ""
        fields = f" (fields: {', '.join(group.fields)})" if group.fields else ""
        lines.append("")
        lines.append(f"{group.reason}{rule}: {group.count}{fields}")
        for shown in group.examples:
            lines.extend(_example_lines(shown))
    return "\n".join(lines)


def _example_lines(shown: dict[str, Any]) -> list[str]:
    where = f"  {shown['partition']}@{shown['offset']}"
    origin = f" from {shown['original']}" if shown["original"] else ""
    key = f" key={shown['key']}" if shown["key"] is not None else ""
    lines = [f"{where}{origin}{key}"]
    if shown["error"]:
        lines.append(f"    error: {shown['error']}")
    if "message" in shown:
        lines.append(f"    message: {json.dumps(shown['message'], ensure_ascii=False)}")
    elif shown["value_base64"] is None:
        lines.append("    value: null")
    else:
        raw = base64.b64decode(shown["value_base64"])
        more = f" ... ({len(raw)} bytes)" if len(raw) > _PREVIEW_BYTES else ""
        lines.append(f"    bytes: {raw[:_PREVIEW_BYTES].hex(' ')}{more}")
    return lines


def _ordered(inspection: Inspection) -> list[Group]:
    return sorted(inspection.groups.values(), key=lambda group: (-group.count, group.reason, group.rule_id or ""))
