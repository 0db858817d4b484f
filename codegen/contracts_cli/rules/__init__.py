"""Lint: buf's rules, then the registry's own rules (one module per family)."""

from __future__ import annotations

from contracts_cli.findings import Finding
from contracts_cli.model import Registry
from contracts_cli.rules import binding, docs, generatable, naming, settings  # noqa: F401  (importing registers the rules)
from contracts_cli.rules.base import REGISTRY_RULES, Rule

__all__ = ["REGISTRY_RULES", "Rule", "run_registry_rules"]


def run_registry_rules(registry: Registry) -> list[Finding]:
    return sorted(f for rule in REGISTRY_RULES for f in rule.check(registry))
