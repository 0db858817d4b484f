"""The service templates as Copier sees them: a git repository with one tag per template version.

`copier update` re-renders the version a service was made with and merges the difference into the
service, so it needs the template's history. The CLI ships only its own version of
templates/service/, so it keeps that history itself: a repository in the CLI's cache
(`<cache>/service-template`) gains one commit per template version this machine's CLIs shipped,
tagged `v<CLI version>` (`v<CLI version>+<n>` when an unreleased checkout changed the template under
the same version). The answers file of a service points at that repository (`_src_path`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from contracts_cli.buf import cache_dir
from contracts_cli.errors import ContractsError
from contracts_cli.git import run_git
from contracts_cli.resources import cli_version, templates_dir

# The repository's own commits: the tool writes them, not the user.
_AUTHOR = ["-c", "user.name=contracts-cli", "-c", "user.email=contracts-cli@localhost", "-c", "commit.gpgsign=false"]
_CONTENT_STAMP = ".contracts-template-digest"


def shipped_template() -> Path:
    return templates_dir() / "service"


def template_repository() -> tuple[Path, str]:
    """The cache repository holding this CLI's template version, and that version's tag."""
    source = shipped_template()
    if not (source / "copier.yml").is_file():
        raise ContractsError(f"this installation of contracts has no service templates ({source}): reinstall the CLI")
    repository = cache_dir() / "service-template"
    if not (repository / ".git").is_dir():
        repository.mkdir(parents=True, exist_ok=True)
        _git(repository, "init", "--quiet", "--initial-branch=main")
    digest = _digest(source)
    version = cli_version()
    for tag in reversed(_tags(repository, f"v{version}")):
        if _git(repository, "show", f"{tag}:{_CONTENT_STAMP}", check=False).stdout.strip() == digest:
            return repository, tag
    _replace_work_tree(repository, source)
    (repository / _CONTENT_STAMP).write_text(digest + "\n", encoding="utf-8")
    _git(repository, "add", "--all")
    _git(repository, *_AUTHOR, "commit", "--quiet", "--allow-empty", "-m", f"service templates of contracts {version}")
    taken = _tags(repository, f"v{version}")
    tag = f"v{version}" if not taken else f"v{version}+{len(taken)}"
    _git(repository, "tag", tag)
    return repository, tag


def _digest(source: Path) -> str:
    hasher = hashlib.sha256()
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            hasher.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def _tags(repository: Path, prefix: str) -> list[str]:
    listed = _git(repository, "tag", "--list", prefix, f"{prefix}+*", "--sort=creatordate").stdout.split()
    return [tag for tag in listed if tag == prefix or tag.startswith(prefix + "+")]


def _replace_work_tree(repository: Path, source: Path) -> None:
    for child in repository.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    shutil.copytree(source, repository, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))


def _git(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_git(directory, *args, check=check)
