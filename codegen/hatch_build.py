"""Adds the CLI's package data to the wheel it builds (not to editable installs).

What the installed CLI reads at run time lives elsewhere in this repository; the wheel carries a
copy under `contracts_cli/_data/` (found by contracts_cli/resources.py), plus the Python runtime
as the top-level `contracts_runtime` package: the CLI connects to Kafka through it, so that
connection settings have one source. An editable install must not get these copies: they would
shadow the checkout's own files.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE_DATA = {
    "templates": "contracts_cli/_data/templates",
    "proto/contracts/v1/options.proto": "contracts_cli/_data/options.proto",
    "third_party/buf/validate/validate.proto": "contracts_cli/_data/validate.proto",
    "runtime/python/src/contracts_runtime": "contracts_runtime",
    # gen gives a vendored Python runtime the dependency ranges this file states.
    "runtime/python/pyproject.toml": "contracts_cli/_data/runtime/python/pyproject.toml",
    "runtime/go": "contracts_cli/_data/runtime/go",
    "runtime/rust": "contracts_cli/_data/runtime/rust",
}


class PackageDataHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "standard":
            build_data["force_include"].update(PACKAGE_DATA)
