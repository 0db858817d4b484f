"""`contracts apply`: reconcile a Kafka cluster with the registry, plan first, then apply.

The pipeline reads one way: registry -> desired state (desired.py); cluster -> observed state
(cluster.py, state.py); both -> Plan (planner.py, pure); Plan -> text or JSON (render.py);
Plan -> AdminClient calls (executor.py). Only this module strings them together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from confluent_kafka.admin import AdminClient

from contracts_cli.apply.cluster import read_cluster
from contracts_cli.apply.desired import DesiredState, desired_state
from contracts_cli.apply.executor import ApplyFailed, execute
from contracts_cli.apply.plan import Plan
from contracts_cli.apply.planner import make_plan
from contracts_cli.apply.render import PlanFormat, parse_format, render_plan
from contracts_cli.config import RegistryRoot
from contracts_cli.errors import EXIT_FINDINGS, EXIT_OK, ContractsError
from contracts_cli.kafka import CONNECT_TIMEOUT_SECONDS, ConnectionFlags, connect, kafka_settings
from contracts_cli.load import load_registry
from contracts_cli.rules import run_registry_rules

__all__ = [
    "ApplyFailed",
    "ApplyRequest",
    "ConnectionFlags",
    "Outcome",
    "Plan",
    "PlanFormat",
    "apply_registry",
    "parse_format",
    "render_plan",
]

_SETTLE_SECONDS = CONNECT_TIMEOUT_SECONDS


@dataclass(frozen=True)
class ApplyRequest:
    connection: ConnectionFlags = field(default_factory=ConnectionFlags)
    dry_run: bool = False
    max_replication_factor: int | None = None


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    message: str  # one line for the person at the terminal
    done: tuple[str, ...] = field(default=())


def apply_registry(
    root: RegistryRoot,
    request: ApplyRequest,
    show_plan: Callable[[Plan], None],
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Plan, show the plan, then apply it unless it is a dry run or holds impossible changes.

    Raises ContractsError: exit code 1 when the plan holds impossible changes (nothing applied),
    2 for bad settings, an unreachable cluster, wrong credentials or a failed step.
    """
    settings = kafka_settings(request.connection, environ)
    desired = _desired(root, request.max_replication_factor)
    admin = connect(settings)
    plan = make_plan(desired, read_cluster(admin, settings, desired.topic_names))
    show_plan(plan)
    if plan.impossible:
        raise ContractsError(
            f"the plan holds {len(plan.impossible)} change(s) Kafka cannot make (marked !): nothing was applied",
            exit_code=EXIT_FINDINGS,
        )
    if request.dry_run:
        return Outcome(EXIT_OK, "dry run: nothing was applied")
    if not plan.has_work:
        return Outcome(EXIT_OK, "nothing to do")
    done = execute(admin, settings, plan)
    message = f"applied {len(done)} change(s)"
    if not _settled(admin, settings, desired):
        message += f"; the cluster did not show all of them within {_SETTLE_SECONDS:g}s"
    return Outcome(EXIT_OK, message, tuple(done))


def _desired(root: RegistryRoot, max_replication_factor: int | None) -> DesiredState:
    registry = load_registry(root)
    findings = run_registry_rules(registry)
    if findings:
        first = findings[0]
        raise ContractsError(
            f"the registry breaks {len(findings)} rule(s), first {first.path}:{first.line}:{first.column}: "
            f"{first.rule} {first.message}; run contracts lint (nothing was applied)"
        )
    return desired_state(registry, max_replication_factor)


def _settled(admin: AdminClient, settings: Mapping[str, str], desired: DesiredState) -> bool:
    """Wait until the cluster shows every change, so that an apply right after plans nothing.

    Brokers learn of a change from the controller shortly after it is acknowledged.
    """
    deadline = time.monotonic() + _SETTLE_SECONDS
    while True:
        if not make_plan(desired, read_cluster(admin, settings, desired.topic_names)).has_work:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
