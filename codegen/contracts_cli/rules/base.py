"""A rule is an id, a one-line purpose and a function from the model to findings (after buf's bufcheck)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from contracts_cli.findings import Finding
from contracts_cli.model import Location, Registry

Check = Callable[[Registry], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    purpose: str
    check: Check


REGISTRY_RULES: list[Rule] = []


def rule(rule_id: str, purpose: str) -> Callable[[Check], Check]:
    """Register a registry rule; the function yields findings and never prints or exits."""

    def register(check: Check) -> Check:
        REGISTRY_RULES.append(Rule(rule_id, purpose, check))
        return check

    return register


def finding(location: Location, rule_id: str, message: str) -> Finding:
    return Finding(location.path, location.line, location.column, rule_id, message)
