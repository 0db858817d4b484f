"""Plan -> text (one line per action, `+ ~ ! - ?`) or JSON (lists of {kind, topic, details})."""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum

from contracts_cli.apply.desired import RETENTION_MS
from contracts_cli.apply.plan import Action, AddPartitions, AlterConfig, CreateTopic, Impossible, Orphan, Plan
from contracts_cli.errors import ContractsError

_SETTING_NAMES = {"replication_factor": "replication.factor"}
_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000))


class PlanFormat(StrEnum):
    text = "text"
    json = "json"


def parse_format(text: str) -> PlanFormat:
    try:
        return PlanFormat(text)
    except ValueError:
        raise ContractsError(f"--format takes text or json, not {text!r}") from None


def render_plan(plan: Plan, output_format: PlanFormat, *, dry_run: bool = False) -> str:
    if output_format is PlanFormat.json:
        return json.dumps(plan_document(plan, dry_run=dry_run), indent=2)
    return render_text(plan)


def plan_document(plan: Plan, *, dry_run: bool = False) -> dict[str, object]:
    def actions(items: Iterable[Action]) -> list[dict[str, object]]:
        return [{"kind": action.kind, "topic": action.topic, "details": action.details()} for action in items]

    return {
        "bootstrap_servers": plan.bootstrap_servers,
        "brokers": plan.brokers,
        "authorizer": plan.authorizer,
        "dry_run": dry_run,
        "empty": plan.is_empty,
        "create": actions(plan.creates),
        "change": actions((*plan.partition_changes, *plan.config_changes)),
        "impossible": actions(plan.impossible),
        "acls": actions((*plan.grants, *plan.revokes)),
        "orphans": actions(plan.orphans),
        "notes": list(plan.notes),
    }


def render_text(plan: Plan) -> str:
    acl_state = "ACLs managed" if plan.authorizer else "no authorizer, ACLs skipped"
    lines = [f"Plan for {plan.bootstrap_servers} ({plan.brokers} broker(s), {acl_state}):"]
    topic_actions: tuple[Action, ...] = (
        *plan.creates,
        *plan.partition_changes,
        *plan.config_changes,
        *plan.impossible,
        *plan.orphans,
    )
    width = max((len(action.topic) for action in topic_actions), default=0)
    lines += [_create_line(action, width) for action in plan.creates]
    lines += [_partitions_line(action, width) for action in plan.partition_changes]
    lines += [_config_line(action, width) for action in plan.config_changes]
    lines += [_impossible_line(action, width) for action in plan.impossible]
    lines += [f"+ acl   {grant.acl}" for grant in plan.grants]
    lines += [f"- acl   {revoke.acl}" for revoke in plan.revokes]
    lines += [_orphan_line(action, width) for action in plan.orphans]
    lines += [f"note: {note}" for note in plan.notes]
    lines.append(summary(plan))
    return "\n".join(lines)


def summary(plan: Plan) -> str:
    undeclared = f"; {len(plan.orphans)} topic(s) no contract declares, left alone" if plan.orphans else ""
    if plan.is_empty:
        return f"No changes: the cluster matches the registry{undeclared}."
    counts = [
        f"{len(plan.creates)} to create",
        f"{len(plan.partition_changes) + len(plan.config_changes)} to change",
        f"{len(plan.impossible)} impossible",
        f"{len(plan.grants)} ACL(s) to grant",
        f"{len(plan.revokes)} to revoke",
    ]
    return f"Plan: {', '.join(counts)}{undeclared}."


def _create_line(action: CreateTopic, width: int) -> str:
    spec = action.spec
    settings = [
        f"partitions={_or_default(spec.partitions)}",
        f"replication.factor={_or_default(spec.replication_factor)}",
        *(f"{name}={_config_value(name, value)}" for name, value in spec.configs.items()),
    ]
    extra = []
    if spec.is_dlq:
        extra.append(f"dead-letter topic of {spec.contract}")
    if spec.declared_replication_factor is not None:
        extra.append(f"replication factor capped from {spec.declared_replication_factor}")
    if action.purpose:
        extra.append(action.purpose)
    suffix = f"  ({'; '.join(extra)})" if extra else ""
    return f"+ topic {spec.name:<{width}}  {' '.join(settings)}{suffix}"


def _partitions_line(action: AddPartitions, width: int) -> str:
    return (
        f"~ topic {action.topic:<{width}}  partitions {action.current} -> {action.wanted}"
        "  (a key's new records may land on another partition than its old ones)"
    )


def _config_line(action: AlterConfig, width: int) -> str:
    current = _config_value(action.name, action.current) if action.current is not None else "(unset)"
    return f"~ topic {action.topic:<{width}}  {action.name} {current} -> {_config_value(action.name, action.wanted)}"


def _impossible_line(action: Impossible, width: int) -> str:
    setting = _SETTING_NAMES.get(action.setting, action.setting)
    change = f"{action.wanted} (new topic)" if action.current is None else f"{action.current} -> {action.wanted}"
    return f"! topic {action.topic:<{width}}  {setting} {change}: {action.reason}"


def _orphan_line(action: Orphan, width: int) -> str:
    partitions = f"{action.partitions} partition(s)"
    return f"? topic {action.topic:<{width}}  no contract declares it ({partitions}): reported, not deleted"


def _or_default(value: int | None) -> str:
    return "cluster-default" if value is None else str(value)


def _config_value(name: str, value: str) -> str:
    if name != RETENTION_MS:
        return value
    return f"{value} ({human_duration(int(value))})" if value.lstrip("-").isdigit() else value


def human_duration(milliseconds: int) -> str:
    """259200000 -> 3d, 5400000 -> 90m, -1 -> infinite (days at most: contracts rarely speak in weeks)."""
    if milliseconds < 0:
        return "infinite"
    for unit, size in _UNITS:
        if milliseconds >= size and milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"
