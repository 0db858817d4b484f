"""The runtime sources that `gen` copies into generated packages which vendor their runtime.

The runtimes are on no public index, so a registry outside this repository gets the runtime that
ships with its CLI (pinned to the CLI's version) written beside the generated code: only sources,
never tests, build output or lock files. Reading them here, in one place, also lets the no-op
stamp cover them: a new CLI with another runtime regenerates.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

from contracts_cli.errors import ContractsError
from contracts_cli.resources import cli_version, data_path

# Directories that never hold runtime sources: tests, fixtures, build and tool output.
_SKIPPED_DIRECTORIES = frozenset(
    {"tests", "testdata", "target", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist"}
)


def python_runtime_dir() -> Path:
    """The contracts_runtime package beside the CLI (the wheel ships it as a top-level package).

    Found, not imported: importing it loads confluent-kafka and more, a third of a no-op gen."""
    spec = importlib.util.find_spec("contracts_runtime")
    if spec is None or spec.origin is None:
        raise ContractsError("contracts_runtime is not installed beside the CLI: reinstall contracts")
    return Path(spec.origin).resolve().parent


def go_runtime_dir() -> Path:
    return data_path("runtime/go")


def rust_runtime_dir() -> Path:
    return data_path("runtime/rust")


def _python_source(relative: str) -> bool:
    return relative.endswith((".py", ".pyi")) or relative.endswith("py.typed")


def _go_source(relative: str) -> bool:
    # One package: top-level .go files; tests and examples (package contracts_test) stay home.
    return "/" not in relative and relative.endswith(".go") and not relative.endswith("_test.go")


def _rust_source(relative: str) -> bool:
    return relative in {"Cargo.toml", "build.rs"} or (relative.startswith("src/") and relative.endswith(".rs"))


def _sources(directory: Path, kind: str) -> list[tuple[str, bytes]]:
    keep: Callable[[str], bool] = {"python": _python_source, "go": _go_source, "rust": _rust_source}[kind]
    found: list[tuple[str, bytes]] = []
    for current, subdirs, names in os.walk(directory):
        subdirs[:] = sorted(name for name in subdirs if name not in _SKIPPED_DIRECTORIES and not name.startswith("."))
        for name in sorted(names):
            relative = os.path.relpath(os.path.join(current, name), directory).replace(os.sep, "/")
            if keep(relative):
                found.append((relative, Path(current, name).read_bytes()))
    return sorted(found)


def runtime_sources(kind: str) -> dict[str, bytes]:
    """Relative path -> content of the runtime sources of `kind` (python, go or rust), sorted."""
    directory = {"python": python_runtime_dir, "go": go_runtime_dir, "rust": rust_runtime_dir}[kind]()
    return dict(_sources(directory, kind))


def vendored_note(language_hint: str) -> bytes:
    """The note written beside a vendored runtime: where it came from and how to change it."""
    return (
        f"This is the contracts runtime ({language_hint}) as shipped with contracts-cli {cli_version()},\n"
        "copied here by `contracts gen` so that the generated packages build from any repository.\n"
        "Do not edit: upgrade the CLI and run `contracts gen` again.\n"
    ).encode()
