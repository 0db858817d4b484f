"""contracts.toml: the settings that release and publishing depend on."""

from __future__ import annotations

from pathlib import Path

import pytest
from contracts_cli.config import go_module_path, open_root
from contracts_cli.errors import ContractsError


@pytest.mark.parametrize(
    ("module", "version", "expected"),
    [
        ("github.com/acme/events/generated/go", "0.4.1", "github.com/acme/events/generated/go"),
        ("github.com/acme/events/generated/go", "1.9.0", "github.com/acme/events/generated/go"),
        ("github.com/acme/events/generated/go", "2.0.0", "github.com/acme/events/generated/go/v2"),
        ("github.com/acme/events/generated/go", "13.1.2", "github.com/acme/events/generated/go/v13"),
        ("github.com/acme/events/generated/go/v3", "3.0.0", "github.com/acme/events/generated/go/v3"),
    ],
)
def test_go_modules_from_v2_on_end_in_their_major_version(module: str, version: str, expected: str) -> None:
    assert go_module_path(module, version) == expected


def registry(tmp_path: Path, settings: str) -> Path:
    (tmp_path / "buf.yaml").write_text("version: v2\nmodules:\n  - path: proto\n")
    (tmp_path / "contracts.toml").write_text(settings)
    return tmp_path


def test_the_module_read_from_contracts_toml_follows_the_version(tmp_path: Path) -> None:
    settings = 'version = "2.1.0"\n[go]\nmodule = "git.example.com/acme/events/generated/go"\n'
    root = open_root(registry(tmp_path, settings))
    assert root.settings.go.module == "git.example.com/acme/events/generated/go/v2"


@pytest.mark.parametrize(
    ("value", "toml"), [("false", "false"), ("true", "true"), ('["acme"]', '["acme"]'), ("[]", "[]")]
)
def test_rust_publish_is_configurable(tmp_path: Path, value: str, toml: str) -> None:
    root = open_root(registry(tmp_path, f"[rust]\npublish = {value}\n"))
    assert root.settings.rust.publish_toml == toml


@pytest.mark.parametrize("value", ['"crates-io"', "[1]", '[""]'])
def test_a_bad_publish_value_is_a_one_line_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ContractsError, match="publish"):
        open_root(registry(tmp_path, f"[rust]\npublish = {value}\n"))
