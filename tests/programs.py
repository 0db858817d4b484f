"""Building the Go and Rust test programs (end-to-end clients, golden-vector checkers) side by side."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def build_go_and_rust(
    directory: Path, out: Path, go_name: str, rust_name: str, purpose: str, timeout: float = 900
) -> dict[str, Path]:
    """Builds `directory`/go and `directory`/rust in parallel; returns {"go": binary, "rust": binary}.

    Rust builds share the suite's CARGO_TARGET_DIR, so librdkafka and prost compile once per machine.
    """
    for tool in ("go", "cargo"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not on PATH: {purpose} need the Go and Rust toolchains")
    cargo_env = dict(os.environ)
    cargo_env.setdefault("CARGO_TARGET_DIR", str(ROOT / ".cache" / "cargo-target"))
    go_binary = out / go_name
    builds = {
        "go": subprocess.Popen(
            ["go", "build", "-o", str(go_binary), "."],
            cwd=directory / "go",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "rust": subprocess.Popen(
            ["cargo", "build", "--quiet", "--message-format=short"],
            cwd=directory / "rust",
            env=cargo_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    }
    for language, process in builds.items():
        _, stderr = process.communicate(timeout=timeout)
        if process.returncode != 0:
            pytest.fail(f"building the {language} program for {purpose} failed:\n{stderr}")
    target = Path(cargo_env["CARGO_TARGET_DIR"])
    if not target.is_absolute():  # cargo reads it relative to where it runs
        target = directory / "rust" / target
    return {"go": go_binary, "rust": target / "debug" / rust_name}
