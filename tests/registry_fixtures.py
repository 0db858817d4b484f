"""Temporary registries for the CLI, rule and breaking tests.

A test module prepares one base registry (a copy of the repository's buf.yaml
and proto/, committed on `main` in a fresh git repository, compiled once) and
copies it for every case, so that each case pays for one compilation of its
own edit and nothing else. Edits are small string replacements on the example
files, written as one-line rows of a table.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent

# The example registry's files, as paths relative to a registry root.
OPTIONS = "proto/contracts/v1/options.proto"
COMMON = "proto/common/v1/common.proto"
AUDIT = "proto/audit/v1/audit.proto"
EMAIL = "proto/email/v1/email.proto"
PREFERENCES = "proto/preferences/v1/preferences.proto"
MARKETING = "proto/marketing/v1/audience_member.proto"

_GIT_IDENTITY = (
    "-c",
    "user.name=contracts tests",
    "-c",
    "user.email=tests@contracts.invalid",
    "-c",
    "commit.gpgsign=false",
)


def contracts_command() -> list[str]:
    """The installed console script beside this interpreter (the one CI and users run)."""
    script = Path(sys.executable).parent / "contracts"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from contracts_cli.cli import main; main()"]


def buf_command() -> str:
    beside = Path(sys.executable).parent / "buf"
    return str(beside) if beside.is_file() else "buf"


_SESSION_CACHES: dict[Path, Path] = {}


def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CONTRACTS_CACHE for the whole pytest session, inside pytest's own temporary tree.

    Shared by every test module (compiled images are keyed by content and commit,
    so sharing is safe) and never the user's ~/.cache, so nothing leaks between runs.
    """
    base = tmp_path_factory.getbasetemp()
    if base not in _SESSION_CACHES:
        _SESSION_CACHES[base] = tmp_path_factory.mktemp("contracts-cache", numbered=False)
    return _SESSION_CACHES[base]


def contracts_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CONTRACTS_CACHE"] = str(cache)
    env["BUF_CACHE_DIR"] = str(cache / "buf")
    env["NO_COLOR"] = "1"
    env.pop("GITHUB_ACTIONS", None)
    return env


def run_contracts(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*contracts_command(), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git(cwd: Path, *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        ["git", *_GIT_IDENTITY, *args], cwd=cwd, input=input, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def copy_example_registry(destination: Path) -> Path:
    """The repository's buf.yaml, proto/ and third_party/ (protovalidate's rules) in `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPOSITORY / "buf.yaml", destination / "buf.yaml")
    shutil.copytree(REPOSITORY / "proto", destination / "proto")
    shutil.copytree(REPOSITORY / "third_party", destination / "third_party")
    return destination


def commit_all(repository: Path, message: str) -> str:
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repository, "rev-parse", "HEAD")


def init_git_registry(destination: Path) -> Path:
    """The example registry committed on `main` in a new git repository."""
    copy_example_registry(destination)
    git(destination, "init", "--quiet", "-b", "main")
    commit_all(destination, "example registry")
    return destination


def clone_registry(base: Path, destination: Path) -> Path:
    """A copy of a prepared registry (working tree and .git), cheaper than building one."""
    shutil.copytree(base, destination, symlinks=True)
    return destination


@dataclass(frozen=True)
class Edit:
    """One change to one file of a registry.

    `old` is the exact text to replace (it must occur once), or a compiled pattern
    (it must match once), or None to create the file with `new` as its content;
    `new` None deletes the file.
    """

    file: str
    old: str | re.Pattern[str] | None
    new: str | None


def apply_edits(root: Path, edits: Iterable[Edit]) -> None:
    for edit in edits:
        apply_edit(root, edit)


def apply_edit(root: Path, edit: Edit) -> None:
    target = root / edit.file
    if edit.new is None:
        target.unlink()
        return
    if edit.old is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(edit.new, encoding="utf-8")
        return
    text = target.read_text(encoding="utf-8")
    if isinstance(edit.old, re.Pattern):
        changed, count = edit.old.subn(edit.new, text)
    else:
        count = text.count(edit.old)
        changed = text.replace(edit.old, edit.new)
    if count != 1:
        raise AssertionError(f"{edit.file}: expected one occurrence of {edit.old!r}, found {count}")
    target.write_text(changed, encoding="utf-8")


def line_of(root: Path, file: str, text: str) -> int:
    """1-based line number of the first line holding `text`."""
    for number, line in enumerate((root / file).read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{file} has no line with {text!r}")


def bound_message_file(package: str, message: str, topic: str, *, extra_option: str = "", body: str = "") -> str:
    """A small, well-formed contract file binding `message` to `topic` (for new-file edits)."""
    fields = body or "  // Identifier of the thing.\n  string id = 1;\n"
    return (
        'syntax = "proto3";\n\n'
        f"package {package};\n\n"
        'import "contracts/v1/options.proto";\n\n'
        f"// {message} is a test contract.\n"
        f"message {message} {{\n"
        f'  option (contracts.v1.topic) = {{name: "{topic}" {extra_option}}};\n\n'
        f"{fields}"
        "}\n"
    )
