"""A contract file's history from git: each commit that changed it, renames followed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Fields are split by the unit separator, records by newlines (a subject is one line).
_FORMAT = "%h%x1f%ad%x1f%an%x1f%s"
_GIT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Change:
    commit: str  # abbreviated hash
    date: str  # author date, YYYY-MM-DD
    author: str
    subject: str


class GitHistory:
    """`git log --follow` per file, relative to the registry root; empty outside a git work tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.available = _inside_work_tree(root)

    @cache  # noqa: B019  (one instance per catalog run; the cache dies with it)
    def changes(self, path: str) -> tuple[Change, ...]:
        if not self.available:
            return ()
        result = _git(self.root, "log", "--follow", f"--format={_FORMAT}", "--date=short", "--", path)
        if result is None or result.returncode != 0:
            return ()
        changes = []
        for line in result.stdout.splitlines():
            parts = line.split("\x1f")
            if len(parts) == 4:
                changes.append(Change(*parts))
        return tuple(changes)


def _inside_work_tree(root: Path) -> bool:
    result = _git(root, "rev-parse", "--is-inside-work-tree")
    return result is not None and result.returncode == 0 and result.stdout.strip() == "true"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", "-C", str(root), "-c", "core.quotepath=off", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
            timeout=_GIT_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired):  # no git installed, or a wedged repository
        return None
