"""`contracts dlq inspect|replay` strung together: registry and cluster in, an inspection or a replay out."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts_cli.config import RegistryRoot
from contracts_cli.dlq.contract import Contract, load_contract
from contracts_cli.dlq.inspect import Inspection, inspect_letters
from contracts_cli.dlq.reading import end_offsets, open_reader, partitions_of, read_dead_letters
from contracts_cli.dlq.replay import ReplayReport, replay_dead_letters
from contracts_cli.kafka import ConnectionFlags, connect, kafka_settings
from contracts_cli.load import load_registry

__all__ = ["DlqRequest", "Inspection", "ReplayReport", "inspect_dlq", "replay_dlq"]


@dataclass(frozen=True)
class DlqRequest:
    topic: str  # the bound topic (its `.dlq` is read); a `.dlq` name is accepted too
    connection: ConnectionFlags = field(default_factory=ConnectionFlags)
    reason: str | None = None
    rule: str | None = None


def inspect_dlq(
    root: RegistryRoot, request: DlqRequest, *, limit: int, environ: Mapping[str, str] | None = None
) -> Inspection:
    """Read the whole `.dlq` (it commits nothing) and group it by reason and rule."""
    contract, settings = _prepare(root, request, environ)
    dlq_topic = contract.binding.name + ".dlq"
    # A group of its own per run: inspecting never moves anyone's offsets.
    reader = open_reader(settings, f"contracts-dlq-inspect.{uuid.uuid4().hex[:12]}")
    try:
        partitions = partitions_of(reader, dlq_topic)
        ends = end_offsets(reader, dlq_topic, partitions)
        letters = read_dead_letters(reader, dlq_topic, dict.fromkeys(partitions), ends)
        return inspect_letters(
            contract, letters, dlq_topic=dlq_topic, reason=request.reason, rule=request.rule, limit=limit
        )
    finally:
        reader.close()


def replay_dlq(
    root: RegistryRoot, request: DlqRequest, *, dry_run: bool, environ: Mapping[str, str] | None = None
) -> ReplayReport:
    """Republish the dead letters the current contract accepts (see replay.py for the guarantees)."""
    contract, settings = _prepare(root, request, environ)
    return replay_dead_letters(
        contract,
        settings,
        reason=request.reason,
        rule=request.rule,
        dry_run=dry_run,
        open_consumer=lambda group: open_reader(settings, group),
    )


def _prepare(
    root: RegistryRoot, request: DlqRequest, environ: Mapping[str, str] | None
) -> tuple[Contract, dict[str, str]]:
    """The topic's contract and checked connection settings; ContractsError for either problem."""
    settings = kafka_settings(request.connection, environ)
    contract = load_contract(load_registry(root), request.topic)
    connect(settings)  # a refused or silent cluster is one line within the bound, as in apply
    return contract, settings
