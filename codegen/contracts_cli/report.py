"""Finding -> text | json | github | sarif, the formats `--format` accepts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum

from contracts_cli.findings import Finding


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"

    @property
    def structured(self) -> bool:
        """A document even when there is nothing to report (`[]`, a SARIF log without results)."""
        return self in (OutputFormat.json, OutputFormat.sarif)


def render(findings: Sequence[Finding], output_format: OutputFormat) -> str:
    ordered = sorted(findings)
    if output_format is OutputFormat.json:
        return json.dumps([finding.as_dict() for finding in ordered], indent=2)
    if output_format is OutputFormat.sarif:
        from contracts_cli.sarif import sarif_log

        return sarif_log(ordered)
    if output_format is OutputFormat.github:
        return "\n".join(_github_line(finding) for finding in ordered)
    return "\n".join(f"{f.path}:{f.line}:{f.column}: {f.rule} {f.message}" for f in ordered)


def _github_line(finding: Finding) -> str:
    # GitHub's workflow commands need %, CR and LF escaped in the message part.
    message = finding.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    location = f"file={finding.path},line={finding.line},col={finding.column}"
    return f"::error {location},title={finding.rule}::{finding.rule} {message}"
