"""Running the pinned buf binary: one place that knows where it is and how it reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts_cli.errors import ContractsError

BUF_FINDINGS_EXIT = 100


def cache_dir() -> Path:
    base = os.environ.get("CONTRACTS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "contracts"
    )
    return Path(base)


def buf_binary() -> str:
    # Prefer the buf that buf-bin installed next to this interpreter: that is the pinned one.
    beside = Path(sys.executable).parent / "buf"
    if beside.is_file():
        return str(beside)
    found = shutil.which("buf")
    if not found:
        raise ContractsError("buf not found: install the pinned buf-bin (pip install contracts) or put buf on PATH")
    return found


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # buf writes a cache even for --version; keep it out of $HOME's default place.
    env.setdefault("BUF_CACHE_DIR", str(cache_dir() / "buf"))
    # Plugins installed beside this interpreter (betterproto2, and the ruff it formats with) come first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [buf_binary(), *args], cwd=cwd, env=_environment(), capture_output=True, text=True, check=False
    )


def start(args: Sequence[str], cwd: Path) -> subprocess.Popen[str]:
    """Start buf without waiting, so independent buf calls can run side by side."""
    return subprocess.Popen(
        [buf_binary(), *args], cwd=cwd, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def json_lines(output: str) -> list[dict[str, Any]]:
    """Parse buf's --error-format json output: one JSON object per line (sometimes run together)."""
    decoder = json.JSONDecoder()
    records: list[dict[str, Any]] = []
    text = output.strip()
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        try:
            record, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            break
        if isinstance(record, dict):
            records.append(record)
    return records


def first_error_line(stderr: str) -> str:
    """The line that says why buf failed: protoc's warnings (JSON name conflicts, say) come first."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if ": warning:" not in line]
    return (errors or lines or ["buf failed without a message"])[0]
