"""`contracts lint`: buf lint and the registry rules, over one compilation."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import yaml

from contracts_cli import buf
from contracts_cli.config import RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.findings import Finding
from contracts_cli.load import build_image, load_registry, read_image
from contracts_cli.model import Registry, build_registry
from contracts_cli.rules import run_registry_rules

# Settings whose paths are relative to the registry root: an image knows only module-relative names.
_PATH_SETTINGS = ("ignore", "ignore_only")


def lint(root: RegistryRoot) -> tuple[Registry, list[Finding]]:
    lint_config = image_lint_config(root)
    if lint_config is None:
        return _lint_sources(root)
    # Compile once (or reuse the cached image) and let buf lint that image beside our model:
    # linting an image skips buf's own compilation, which is most of its time on a large registry.
    image = build_image(root)
    buf_lint = buf.start(["lint", str(image), "--error-format", "json", "--config", lint_config], cwd=root.path)
    registry = _build_or_kill(lambda: build_registry(read_image(image), root), buf_lint)
    stdout, stderr = buf_lint.communicate()
    findings = _buf_findings(stdout + "\n" + stderr, buf_lint.returncode, root)
    return registry, sorted(findings + run_registry_rules(registry))


def _lint_sources(root: RegistryRoot) -> tuple[Registry, list[Finding]]:
    # buf lint compiles on its own; run it beside our build so the two compilations overlap.
    buf_lint = buf.start(["lint", "--error-format", "json"], cwd=root.path)
    registry = _build_or_kill(lambda: load_registry(root), buf_lint)
    stdout, stderr = buf_lint.communicate()
    findings = _buf_findings(stdout + "\n" + stderr, buf_lint.returncode, None)
    return registry, sorted(findings + run_registry_rules(registry))


def _build_or_kill(build: Any, process: subprocess.Popen[str]) -> Registry:
    try:
        registry: Registry = build()
    except BaseException:
        process.kill()
        process.wait()
        raise
    return registry


def image_lint_config(root: RegistryRoot) -> str | None:
    """buf.yaml's lint settings as a --config for linting an image, or None when that would differ.

    An image holds module-relative file names, so settings that name root-relative paths
    (`ignore`, `ignore_only`, a module's own `lint`) could match differently: those registries
    are linted from their sources, as buf does by default.
    """
    try:
        document = yaml.safe_load((root.path / "buf.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(document, dict) or document.get("version") != "v2":
        return None
    lint_settings = document.get("lint") or {}
    modules = document.get("modules") or []
    if not isinstance(lint_settings, dict) or not isinstance(modules, list):
        return None
    if any(key in lint_settings for key in _PATH_SETTINGS):
        return None
    if any(not isinstance(module, dict) or "lint" in module for module in modules):
        return None
    return json.dumps({"version": "v2", "lint": lint_settings})


def _buf_findings(output: str, returncode: int, root: RegistryRoot | None) -> list[Finding]:
    """buf's JSON findings; with `root`, buf reported module-relative names (an image) to map back."""
    records = buf.json_lines(output)
    if returncode not in (0, buf.BUF_FINDINGS_EXIT):
        raise ContractsError(f"buf lint failed: {buf.first_error_line(output)}")
    findings = []
    for record in records:
        path = str(record.get("path", ""))
        if root is not None and path:
            path = root.repo_path(path)
        if record.get("type") == "COMPILE":
            where = f"{path}:{record.get('start_line', 1)}:{record.get('start_column', 1)}"
            raise ContractsError(record.get("message", "compile error"), location=where)
        findings.append(
            Finding(
                path=path,
                line=int(record.get("start_line", 1)),
                column=int(record.get("start_column", 1)),
                rule=str(record.get("type", "BUF")),
                message=str(record.get("message", "")),
            )
        )
    return findings
