"""`contracts new-service`: a service repository typed by the registry, kept up to date by Copier.

Order of work, so that a refused request writes nothing: check the name, the language, the target
and every topic; compute the contract edits (the principal added to each topic's producers or
consumers) in memory; render the template; only then write the contract files. `update_service`
runs `copier update` on an existing service (a three-way merge that keeps the team's edits) and
reports the files left with conflict markers.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from contracts_cli.config import RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.git import run_git
from contracts_cli.load import load_registry
from contracts_cli.model import Registry
from contracts_cli.service.model import check_language, check_service_name, service_answers
from contracts_cli.service.principals import add_principal
from contracts_cli.service.template import template_repository

ANSWERS_FILE = ".copier-answers.yml"


@dataclass(frozen=True)
class NewService:
    directory: Path
    template_version: str
    edited_contracts: tuple[str, ...]  # registry-relative paths that gained the principal
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdatedService:
    directory: Path
    template_version: str
    conflicts: tuple[str, ...] = field(default=())


def new_service(
    root: RegistryRoot,
    name: str,
    *,
    language: str,
    consumes: list[str],
    produces: list[str],
    out: Path | None = None,
    principal: str | None = None,
    template: str | None = None,
) -> NewService:
    check_service_name(name)
    check_language(language)
    if not consumes:
        raise ContractsError("give at least one --consumes TOPIC: the service's main loop is its consumer")
    target = (out if out is not None else root.path.resolve().parent / name).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ContractsError(f"{target} is not empty: give --out a new or empty directory")
    registry = load_registry(root)
    answers = service_answers(
        root,
        registry,
        name=name,
        language=language,
        consumes=consumes,
        produces=produces,
        principal=principal or f"User:{name}",
        target=target,
        registry_repository=_origin(root.path),
    )
    edits = _principal_edits(root, registry, answers.principal, consumes, produces)
    source, ref = _template_source(template)
    _copy(source, ref, target, answers.as_data())
    for path, text in edits.items():
        (root.path / path).write_text(text, encoding="utf-8")
    _git(target, "init", "--quiet", "--initial-branch=main", check=False)
    notes = _resolve_go_dependencies(target) if language == "go" else ()
    return NewService(target, _answered_version(target), tuple(sorted(edits)), notes)


def update_service(directory: Path, *, template: str | None = None) -> UpdatedService:
    """`copier update` of `directory` to this CLI's template (or the newest tag of `template`)."""
    if not (directory / ANSWERS_FILE).is_file():
        raise ContractsError(f"{directory} has no {ANSWERS_FILE}: it was not made by `contracts new-service`")
    import copier
    from copier.errors import CopierError

    source, ref = _template_source(template)
    del source  # the answers file names the template repository; ref picks this CLI's version of it
    try:
        copier.run_update(directory, vcs_ref=ref, defaults=True, overwrite=True, quiet=True, conflict="inline")
    except CopierError as error:
        raise ContractsError(f"copier update of {directory} failed: {error}") from None
    conflicts = _git(directory, "diff", "--name-only", "--diff-filter=U").stdout.split()
    return UpdatedService(directory, _answered_version(directory), tuple(conflicts))


def _principal_edits(
    root: RegistryRoot, registry: Registry, principal: str, consumes: list[str], produces: list[str]
) -> dict[str, str]:
    """New texts of the contract files whose topic options gain `principal` (unchanged files left out)."""
    bindings = {binding.name: binding for binding in registry.topics}
    texts: dict[str, str] = {}
    for role, topics in (("consumers", consumes), ("producers", produces)):
        for topic in topics:
            binding = bindings[topic]
            path = binding.location.path
            if path not in texts:
                texts[path] = (root.path / path).read_text(encoding="utf-8")
            texts[path] = add_principal(texts[path], binding, role, principal)
    return {path: text for path, text in texts.items() if text != (root.path / path).read_text(encoding="utf-8")}


def _template_source(template: str | None) -> tuple[str, str | None]:
    if template is not None:
        return template, None  # a template repository of one's own: its newest version tag
    repository, tag = template_repository()
    return str(repository), tag


def _copy(source: str, ref: str | None, target: Path, data: dict[str, object]) -> None:
    import copier
    from copier.errors import CopierError

    created = not target.exists()
    try:
        copier.run_copy(source, target, data=data, vcs_ref=ref, defaults=True, quiet=True, overwrite=True)
    except CopierError as error:
        if created and target.exists():
            import shutil

            shutil.rmtree(target)
        raise ContractsError(f"rendering the service template from {source} failed: {error}") from None


def _resolve_go_dependencies(target: Path) -> tuple[str, ...]:
    """`go mod tidy`, so that go.sum exists (the Dockerfile and CI build from it). Best effort: without
    Go or the module proxy the service is still written, and the note says what to run."""
    import shutil

    todo = f"run `go mod tidy` in {target}, then commit go.sum"
    if shutil.which("go") is None:
        return (f"go is not on PATH: {todo}",)
    result = subprocess.run(["go", "mod", "tidy"], cwd=target, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return (f"go mod tidy failed ({result.stderr.strip().splitlines()[-1:]}): {todo}",)
    return ()


def _answered_version(directory: Path) -> str:
    import yaml

    answers = yaml.safe_load((directory / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    return str(answers.get("_commit", "unknown"))


def _origin(directory: Path) -> str:
    result = _git(directory, "remote", "get-url", "origin", check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def _git(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_git(directory, *args, check=check)


__all__ = ["NewService", "UpdatedService", "new_service", "update_service"]
