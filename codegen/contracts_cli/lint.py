"""`contracts lint`: buf lint and the registry rules, over one compilation."""

from __future__ import annotations

from contracts_cli import buf
from contracts_cli.config import RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.findings import Finding
from contracts_cli.init import options_drift
from contracts_cli.load import load_registry
from contracts_cli.model import Registry
from contracts_cli.rules import run_registry_rules


def lint(root: RegistryRoot) -> tuple[Registry, list[Finding]]:
    # buf lint compiles on its own; run it beside our build so the two compilations overlap.
    buf_lint = buf.start(["lint", "--error-format", "json"], cwd=root.path)
    try:
        registry = load_registry(root)
    except BaseException:
        buf_lint.kill()
        buf_lint.wait()
        raise
    stdout, stderr = buf_lint.communicate()
    findings = _buf_findings(stdout + "\n" + stderr, buf_lint.returncode)
    return registry, sorted(findings + run_registry_rules(registry) + options_drift(root))


def _buf_findings(output: str, returncode: int) -> list[Finding]:
    records = buf.json_lines(output)
    if returncode not in (0, buf.BUF_FINDINGS_EXIT):
        raise ContractsError(f"buf lint failed: {buf.first_error_line(output)}")
    findings = []
    for record in records:
        if record.get("type") == "COMPILE":
            where = f"{record['path']}:{record.get('start_line', 1)}:{record.get('start_column', 1)}"
            raise ContractsError(record.get("message", "compile error"), location=where)
        findings.append(
            Finding(
                path=record.get("path", ""),
                line=int(record.get("start_line", 1)),
                column=int(record.get("start_column", 1)),
                rule=str(record.get("type", "BUF")),
                message=str(record.get("message", "")),
            )
        )
    return findings
