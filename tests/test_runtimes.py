"""The Go and Rust runtimes' own test suites, run against the suite's real broker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from contracts_cli.generate.tools import protoc_wrapper

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _run(command: list[str], cwd: Path, bootstrap: str, timeout: float) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    env.setdefault("CARGO_TARGET_DIR", str(ROOT / ".cache" / "cargo-target"))
    # prost-protovalidate-types (feature validate) compiles validate.proto with a protoc; grpcio-tools' serves.
    env.setdefault("PROTOC", str(protoc_wrapper()))
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


def test_go_runtime(kafka_bootstrap: str) -> None:
    _run(["go", "vet", "./..."], ROOT / "runtime" / "go", kafka_bootstrap, 600)
    _run(["go", "test", "-count=1", "./..."], ROOT / "runtime" / "go", kafka_bootstrap, 900)


def test_rust_runtime(kafka_bootstrap: str) -> None:
    # Every feature (metrics, tracing, health, validate) in one build; the codec alone must build too.
    _run(["cargo", "test", "--quiet", "--all-features"], ROOT / "runtime" / "rust", kafka_bootstrap, 1800)
    _run(["cargo", "check", "--quiet", "--no-default-features"], ROOT / "runtime" / "rust", kafka_bootstrap, 600)
