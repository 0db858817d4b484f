"""Where the CLI finds the files it ships: templates, the topic option's proto, the runtimes' sources.

An installed wheel carries them as package data under `contracts_cli/_data/` (see
`[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml); a source checkout
(an editable install) reads them where they live in the repository. This module is the one
place that knows both layouts.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path

from contracts_cli.errors import ContractsError

DISTRIBUTION = "contracts-cli"
_PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
_CHECKOUT = Path(__file__).resolve().parents[2]

# name in the wheel's _data/ -> path in a source checkout
_CHECKOUT_PATHS = {
    "templates": "templates",
    "options.proto": "proto/contracts/v1/options.proto",
    "validate.proto": "third_party/buf/validate/validate.proto",
    "runtime/python": "runtime/python",
    "runtime/go": "runtime/go",
    "runtime/rust": "runtime/rust",
}


def data_path(name: str) -> Path:
    """The shipped file or folder `name` (a key of _CHECKOUT_PATHS); a one-line error when it is missing."""
    packaged = _PACKAGE_DATA / name
    if packaged.exists():
        return packaged
    checkout = _CHECKOUT / _CHECKOUT_PATHS[name]
    if checkout.exists():
        return checkout
    raise ContractsError(
        f"this installation of contracts has no {name} (looked in {packaged} and {checkout}): reinstall the CLI"
    )


def templates_dir() -> Path:
    return data_path("templates")


def options_proto() -> Path:
    """The CLI's own proto/contracts/v1/options.proto: what `init` writes and `lint` compares with."""
    return data_path("options.proto")


def validate_proto() -> Path:
    """protovalidate's buf/validate/validate.proto, which `init` vendors into new registries."""
    return data_path("validate.proto")


@cache
def cli_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"
