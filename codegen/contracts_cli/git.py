"""Running git in a repository: the one place the CLI shells out to it (docs/history.py aside, which
needs its own timeout and encoding for `git log`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from contracts_cli.errors import ContractsError


def run_git(directory: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """`git -C directory args...`, output captured; with `check`, a failure is a one-line ContractsError."""
    result = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise ContractsError(f"git {' '.join(args)} in {directory} failed: {result.stderr.strip()}")
    return result
