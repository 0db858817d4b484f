"""Findings as SARIF 2.1.0 (one run), so GitHub code scanning and other tools show them inline.

Every rule that appears in the results is described in the run's `tool.driver.rules` with its
id and its one-line purpose: the registry's own rules, the topic-level breaking rules, and
buf's lint and breaking rules (their purposes from `buf config ls-*-rules`, cached per buf).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from contracts_cli import buf
from contracts_cli.findings import Finding

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/contractsdev/contracts"


def sarif_log(findings: Sequence[Finding]) -> str:
    from contracts_cli.resources import cli_version

    ordered = sorted(findings)
    purposes = rule_purposes()
    rule_ids = sorted({finding.rule for finding in ordered})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    rules = [
        {
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": purposes.get(rule_id, rule_id)},
            "defaultConfiguration": {"level": "error"},
        }
        for rule_id in rule_ids
    ]
    results = [
        {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": "error",
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(1, finding.line), "startColumn": max(1, finding.column)},
                    }
                }
            ],
        }
        for finding in ordered
    ]
    driver = {"name": "contracts", "version": cli_version(), "informationUri": INFORMATION_URI, "rules": rules}
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}
    return json.dumps(log, indent=2)


@cache
def rule_purposes() -> dict[str, str]:
    """Rule id -> purpose, for every rule `lint` and `breaking` can report."""
    from contracts_cli.breaking import TOPIC_RULES
    from contracts_cli.init import OPTIONS_OUTDATED
    from contracts_cli.rules import REGISTRY_RULES

    purposes = {**_buf_purposes("ls-lint-rules"), **_buf_purposes("ls-breaking-rules")}
    purposes.update({rule.id: rule.purpose for rule in REGISTRY_RULES})
    purposes.update({rule.id: rule.purpose for rule in TOPIC_RULES})
    purposes[OPTIONS_OUTDATED] = "The registry's options.proto is the one of the installed contracts CLI."
    return purposes


def _buf_purposes(command: str) -> dict[str, str]:
    binary = Path(buf.buf_binary())
    identity = hashlib.sha256(f"{binary.resolve()}:{binary.stat().st_size}".encode()).hexdigest()[:16]
    cached = buf.cache_dir() / f"{command}-{identity}.json"
    if not cached.is_file():
        result = buf.run(["config", command, "--version", "v2", "--format", "json"], cwd=Path.cwd())
        if result.returncode != 0:
            return {}
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        partial.write_text(json.dumps(buf.json_lines(result.stdout)), encoding="utf-8")
        partial.replace(cached)
    return {r["id"]: r["purpose"] for r in json.loads(cached.read_text(encoding="utf-8"))}
