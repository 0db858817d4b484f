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
PROTOVALIDATE = "PROTOVALIDATE"


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
    args = ["lint", "--error-format", "json"]
    document = _buf_yaml(root)
    if document is not None:
        args += ["--config", json.dumps(_with_protovalidate_everywhere(document))]
    buf_lint = buf.start(args, cwd=root.path)
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

    An image holds module-relative file names, so the root-relative paths of `ignore` and
    `ignore_only` are translated to the exact names of the files under them (buf refuses two modules
    holding one name, so the translation is exact). A module with lint settings of its own is
    linted from the sources, as buf does by default, unless those settings only ignore the whole
    module (a vendored module such as third_party/, whose own rules would then never apply).
    """
    document = _buf_yaml(root)
    if document is None:
        return None
    lint_settings = document.get("lint") or {}
    modules = document.get("modules") or []
    if not isinstance(lint_settings, dict) or not isinstance(modules, list):
        return None
    if any(not isinstance(module, dict) or not _ignores_itself(module) for module in modules):
        return None
    settings = {key: value for key, value in lint_settings.items() if key not in _PATH_SETTINGS}
    ignored = root.module_file_names(root.ignored_paths("lint"))
    if ignored:
        settings["ignore"] = ignored
    ignore_only = lint_settings.get("ignore_only")
    if isinstance(ignore_only, dict):
        translated = {
            str(rule): root.module_file_names(tuple(str(path).strip("/") for path in paths))
            for rule, paths in ignore_only.items()
            if isinstance(paths, list)
        }
        if any(translated.values()):
            settings["ignore_only"] = {rule: names for rule, names in translated.items() if names}
    elif ignore_only is not None:
        return None
    return json.dumps({"version": "v2", "lint": _with_protovalidate(settings)})


def _buf_yaml(root: RegistryRoot) -> dict[str, Any] | None:
    try:
        document = yaml.safe_load((root.path / "buf.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(document, dict) or document.get("version") != "v2":
        return None
    return document


def _ignores_itself(module: dict[str, Any]) -> bool:
    """A module without lint settings of its own, or whose only setting ignores the whole module."""
    own = module.get("lint")
    if own is None:
        return True
    path = str(module.get("path", ".")).strip("/")
    return (
        isinstance(own, dict)
        and set(own) == {"ignore"}
        and isinstance(own["ignore"], list)
        and path in {str(item).strip("/") for item in own["ignore"]}
    )


def _with_protovalidate(settings: dict[str, Any]) -> dict[str, Any]:
    """Lint settings that run buf's PROTOVALIDATE rule (contradictory field rules, CEL that does not
    type-check) whatever `use` selects, unless `except` leaves it out on purpose."""
    use = settings.get("use")
    excepted = settings.get("except") or []
    if not isinstance(use, list) or PROTOVALIDATE in excepted or PROTOVALIDATE in use or "STANDARD" in use:
        return settings  # buf's default `use` is STANDARD, which holds PROTOVALIDATE
    return {**settings, "use": [*use, PROTOVALIDATE]}


def _with_protovalidate_everywhere(document: dict[str, Any]) -> dict[str, Any]:
    """buf.yaml with PROTOVALIDATE added to the top-level lint settings and to each module's own."""
    updated = dict(document)
    if isinstance(document.get("lint"), dict):
        updated["lint"] = _with_protovalidate(document["lint"])
    modules = document.get("modules")
    if isinstance(modules, list):
        updated["modules"] = [
            {**module, "lint": _with_protovalidate(module["lint"])}
            if isinstance(module, dict) and isinstance(module.get("lint"), dict)
            else module
            for module in modules
        ]
    return updated


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
