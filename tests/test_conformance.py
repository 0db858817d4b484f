"""The conformance suite: every scenario of tests/conformance/scenarios.py for every language's
driver (tests/conformance/PROTOCOL.md), on the session's broker, observed from outside.

A language joins by adding tests/conformance/<language>/ and a line to LANGUAGES. While a driver's
folder does not exist, its cases are expected failures (not run); once it exists they must pass.
The Go and Rust drivers are built once per session through tests/programs.py.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from tests.conformance.harness import Harness
from tests.conformance.scenarios import SCENARIOS, Scenario
from tests.programs import build_go_and_rust

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
LANGUAGES = ("python", "go", "rust")

pytestmark = pytest.mark.kafka


def _language_param(language: str) -> Any:
    if (CONFORMANCE / language).is_dir():
        return pytest.param(language, id=language)
    reason = f"no {language} driver yet: tests/conformance/{language}/ does not exist"
    return pytest.param(language, id=language, marks=pytest.mark.xfail(strict=False, run=False, reason=reason))


@dataclass
class Drivers:
    """language -> the command that runs its driver; why a language has none."""

    commands: dict[str, list[str]]
    problems: dict[str, str]


@pytest.fixture(scope="session")
def conformance_drivers(tmp_path_factory: pytest.TempPathFactory) -> Drivers:
    """Every driver present, the compiled ones built once; a failed build fails only its language."""
    drivers = Drivers({"python": [sys.executable, str(CONFORMANCE / "python" / "driver.py")]}, {})
    compiled = [language for language in ("go", "rust") if (CONFORMANCE / language).is_dir()]
    if len(compiled) == 1:  # the shared helper builds the two side by side
        drivers.problems[compiled[0]] = "the build helper builds Go and Rust together: waiting for the other driver"
    elif compiled:
        try:
            binaries = build_go_and_rust(
                CONFORMANCE, tmp_path_factory.mktemp("conformance"), "conformance-go", _rust_binary(), "drivers"
            )
        except pytest.fail.Exception as failure:
            drivers.problems.update(dict.fromkeys(compiled, str(failure)))
        else:
            drivers.commands.update({language: [str(binary)] for language, binary in binaries.items()})
    return drivers


def _rust_binary() -> str:
    manifest = tomllib.loads((CONFORMANCE / "rust" / "Cargo.toml").read_text())
    binaries = manifest.get("bin") or [{"name": manifest["package"]["name"]}]
    return str(binaries[0]["name"])


@pytest.fixture(scope="module")
def conformance_sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Any]]:
    """The SASL broker, started on first use, once for the module."""
    from tests.kafka_broker import start_broker, stop_broker

    started: list[Any] = []

    def broker() -> Any:
        if not started:
            started.append(start_broker("sasl", tmp_path_factory.mktemp("conformance-sasl")))
        return started[0]

    yield broker
    for info in started:
        stop_broker(info)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
@pytest.mark.parametrize("language", [_language_param(language) for language in LANGUAGES])
def test_conformance(
    language: str,
    scenario: Scenario,
    kafka_bootstrap: str,
    conformance_drivers: Drivers,
    conformance_sasl: Callable[[], Any],
) -> None:
    if language not in conformance_drivers.commands:
        pytest.fail(f"no {language} driver: {conformance_drivers.problems.get(language, 'not built')}")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    harness = Harness(language, conformance_drivers.commands, kafka_bootstrap, admin, conformance_sasl)
    try:
        scenario.run(harness)
    finally:
        harness.close()
