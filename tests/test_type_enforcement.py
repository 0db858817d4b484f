"""The type system carries the one-type-per-topic contract, in Python, Go and Rust.

Sample programs in tests/typecheck/<language>/ use the repository's committed generated/
tree (after `contracts gen --check` has confirmed it is fresh): the right one type-checks,
compiles and runs; the wrong one, which puts an `EmailMessage` on `AUDIT_EVENTS_V1`, is
rejected by mypy --strict, go build and cargo build on the line marked `WRONG`, and raises
TypeError when Python runs it anyway. Go and Rust compile for real (marked `slow`); Rust
shares CARGO_TARGET_DIR (default .cache/cargo-target) so crates build once.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.registry_fixtures import REPOSITORY, contracts_env, run_contracts
from tests.test_generate import (
    RUNTIME_GO,
    RUNTIME_GO_MODULE,
    RUNTIME_PYTHON,
    TYPECHECK,
    cargo_env,
    generation_cache,
    go_module,
    python_path,
    run,
    run_ok,
    rust_crate,
)

GENERATED = REPOSITORY / "generated"
GO_MODULE = "example.com/registry/gen"  # contracts.toml
RUST_CRATE = "registry-contracts"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed generated/ tree, once `contracts gen --check` says it is what gen would write."""
    env = contracts_env(generation_cache(tmp_path_factory))
    result = run_contracts(["gen", "--check"], cwd=REPOSITORY, env=env)
    assert result.returncode == 0, f"generated/ is stale, run `contracts gen`:\n{result.stdout}{result.stderr}"
    return GENERATED


def wrong_line(program: Path) -> int:
    """The 1-based line marked `WRONG` in a sample program."""
    lines = [
        number for number, line in enumerate(program.read_text(encoding="utf-8").splitlines(), 1) if "WRONG" in line
    ]
    assert len(lines) == 1, f"{program} must mark exactly one line WRONG"
    return lines[0]


# Python


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def mypy(program: Path, generated: Path, cache: Path) -> tuple[int, str]:
    # PYTHONPATH, not MYPYPATH: mypy then treats the packages as installed (as `pip install
    # ./generated/python` does) and checks the program against their stubs, not the stubs themselves.
    result = run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), "--no-error-summary", str(program)],
        cwd=cache,
        extra_env=python_path(RUNTIME_PYTHON, generated / "python"),
    )
    return result.returncode, result.stdout + result.stderr


def test_mypy_strict_accepts_the_right_program(generated: Path, mypy_cache: Path) -> None:
    returncode, output = mypy(TYPECHECK / "python" / "right.py", generated, mypy_cache)
    assert (returncode, output) == (0, "")


WRONG_PYTHON = {"wrong_encode.py": "arg-type", "wrong_send.py": "misc", "wrong_decode.py": "assignment"}


@pytest.mark.parametrize("program", list(WRONG_PYTHON), ids=list(WRONG_PYTHON))
def test_mypy_strict_rejects_the_wrong_type(program: str, generated: Path, mypy_cache: Path) -> None:
    path = TYPECHECK / "python" / program
    returncode, output = mypy(path, generated, mypy_cache)
    assert returncode == 1
    errors = re.findall(r"^\S+?:(\d+): error: (.*)\[([a-z-]+)\]$", output, re.MULTILINE)
    assert [(int(line), code) for line, _, code in errors] == [(wrong_line(path), WRONG_PYTHON[program])], output
    assert "EmailMessage" in output or "type parameter" in output


def test_right_program_runs(generated: Path, tmp_path: Path) -> None:
    output = run_ok(
        [sys.executable, str(TYPECHECK / "python" / "right.py")],
        tmp_path,
        python_path(RUNTIME_PYTHON, generated / "python"),
    )
    assert re.fullmatch(r"audit\.events\.v1 b'zone-1' \d+\n", output), output


def test_wrong_type_raises_type_error_at_runtime(generated: Path, tmp_path: Path) -> None:
    program = TYPECHECK / "python" / "wrong_encode.py"
    result = run([sys.executable, str(program)], tmp_path, python_path(RUNTIME_PYTHON, generated / "python"))
    assert result.returncode == 1
    assert "encoded" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("TypeError: ") and "audit.events.v1" in last and "EmailMessage" in last, result.stderr
    assert f"line {wrong_line(program)}, in <module>" in result.stderr


# Go


@pytest.mark.slow
def test_generated_go_module_is_clean(generated: Path) -> None:
    module = generated / "go"
    run_ok(["go", "vet", "./..."], module)
    run_ok(["go", "build", "./..."], module)
    assert run_ok(["gofmt", "-l", "."], module) == ""


def _go_program(generated: Path, directory: Path, name: str) -> Path:
    return go_module(
        directory,
        TYPECHECK / "go" / name / "main.go",
        {GO_MODULE: generated / "go", RUNTIME_GO_MODULE: RUNTIME_GO},
        require=GO_MODULE,
    )


@pytest.mark.slow
def test_go_right_program_compiles_and_runs(generated: Path, tmp_path: Path) -> None:
    module = _go_program(generated, tmp_path / "right", "right")
    run_ok(["go", "vet", "."], module)
    assert run_ok(["go", "run", "."], module) == "audit.events.v1 zone-1 zone-1\n"


@pytest.mark.slow
def test_go_wrong_type_does_not_compile(generated: Path, tmp_path: Path) -> None:
    module = _go_program(generated, tmp_path / "wrong", "wrong")
    result = run(["go", "build", "-o", str(tmp_path / "wrong.bin"), "."], module)
    assert result.returncode != 0
    line = wrong_line(TYPECHECK / "go" / "wrong" / "main.go")
    assert re.search(
        rf"main\.go:{line}:\d+: cannot use .*\*emailv1\.EmailMessage.* as \*auditv1\.AuditEvent value "
        r"in argument to topics\.AuditEventsV1\.Encode",
        result.stderr,
    ), result.stderr
    assert not (tmp_path / "wrong.bin").exists()


# Rust


@pytest.mark.slow
def test_generated_rust_crate_is_clean(generated: Path) -> None:
    crate = generated / "rust"
    run_ok(["cargo", "build"], crate, cargo_env())  # default features: the Kafka client (librdkafka) too
    run_ok(["cargo", "build", "--no-default-features"], crate, cargo_env())
    run_ok(["cargo", "clippy", "--no-default-features", "--", "-D", "warnings"], crate, cargo_env())


@pytest.mark.slow
def test_rust_right_program_compiles_and_runs(generated: Path, tmp_path: Path) -> None:
    crate = rust_crate(tmp_path / "right", TYPECHECK / "rust" / "right.rs", RUST_CRATE, generated / "rust")
    assert run_ok(["cargo", "run", "--quiet"], crate, cargo_env()) == "audit.events.v1 zone-1\n"


@pytest.mark.slow
def test_rust_wrong_type_does_not_compile(generated: Path, tmp_path: Path) -> None:
    crate = rust_crate(tmp_path / "wrong", TYPECHECK / "rust" / "wrong.rs", RUST_CRATE, generated / "rust")
    result = run(["cargo", "build"], crate, cargo_env())
    assert result.returncode != 0
    line = wrong_line(TYPECHECK / "rust" / "wrong.rs")
    assert re.search(rf"error\[E0308\]: mismatched types\s+--> src/main\.rs:{line}:\d+", result.stderr), result.stderr
    assert "expected `&AuditEvent`, found `&EmailMessage`" in result.stderr, result.stderr
