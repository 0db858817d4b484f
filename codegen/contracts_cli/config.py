"""Where the registry is and how it wants its packages named (buf.yaml + contracts.toml)."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from contracts_cli.buf import buf_binary
from contracts_cli.errors import ContractsError

CONFIG_FILE = "contracts.toml"
# The directory (and package) of the Go runtime inside a generated module that vendors it.
VENDORED_GO_PACKAGE = "contracts"


# Where each generated package gets its runtime from. By default `gen` copies the runtime that
# ships with the CLI into the generated tree ("vendored"), so the packages install from any
# service repository with only the public package registries reachable. A registry that builds
# the runtimes itself (this repository's example registry) names them instead: then the
# generated packages depend on those, and a runtime change is tested at once.


@dataclass(frozen=True)
class PythonSettings:
    package: str = "registry_contracts"
    distribution: str = "registry-contracts"
    # A requirement on a separately installed contracts-runtime ("contracts-runtime>=0.1,<0.2");
    # empty: the top-level package contracts_runtime is vendored into generated/python.
    runtime_requirement: str = ""
    # "protobuf": protoc's classes on the upb runtime; "betterproto": betterproto2 dataclasses.
    runtime: str = "protobuf"

    @property
    def vendors_runtime(self) -> bool:
        return not self.runtime_requirement


@dataclass(frozen=True)
class GoSettings:
    module: str = "example.com/registry/gen"
    runtime_module: str = "github.com/contractsdev/contracts/runtime/go"
    runtime_version: str = "v0.1.0"
    # A path relative to generated/go; set it when the runtime lives in the same checkout.
    # Empty: the runtime is vendored into the generated module as package `<module>/contracts`.
    runtime_replace: str = ""

    @property
    def vendors_runtime(self) -> bool:
        return not self.runtime_replace

    @property
    def runtime_import(self) -> str:
        """The import path of package `contracts` (the runtime) for generated and user code."""
        return f"{self.module}/{VENDORED_GO_PACKAGE}" if self.vendors_runtime else self.runtime_module


@dataclass(frozen=True)
class RustSettings:
    crate: str = "registry-contracts"
    runtime_version: str = "0.1.0"
    # A path relative to generated/rust; set it when the runtime lives in the same checkout.
    # Empty: the runtime crate is vendored into generated/rust/contracts-runtime.
    runtime_path: str = ""
    # Cargo's `publish`: false (never), true (crates.io) or the names of private registries.
    publish: bool | list[str] = False

    @property
    def publish_toml(self) -> str:
        """The value of Cargo.toml's `publish` key, in TOML."""
        if isinstance(self.publish, bool):
            return "true" if self.publish else "false"
        return "[" + ", ".join(f'"{name}"' for name in self.publish) + "]"

    @property
    def vendors_runtime(self) -> bool:
        return not self.runtime_path


@dataclass(frozen=True)
class Settings:
    version: str = "0.1.0"
    python: PythonSettings = PythonSettings()
    go: GoSettings = GoSettings()
    rust: RustSettings = RustSettings()


@dataclass(frozen=True)
class RegistryRoot:
    """A checkout holding buf.yaml: `modules` are its buf module directories, relative to `path`."""

    path: Path
    modules: tuple[str, ...]
    settings: Settings

    def repo_path(self, file_name: str) -> str:
        """Map a module-relative proto file name (as buf reports it) to a root-relative path."""
        for module in self.modules:
            candidate = file_name if module == "." else f"{module}/{file_name}"
            if (self.path / candidate).is_file():
                return candidate
        return file_name if self.modules == (".",) else f"{self.modules[0]}/{file_name}"

    def with_python_runtime(self, runtime: str) -> RegistryRoot:
        python = replace(self.settings.python, runtime=runtime)
        return replace(self, settings=replace(self.settings, python=python))

    def proto_files(self) -> list[str]:
        """Root-relative paths of the .proto files, as buf finds them (regular files only, sorted)."""
        files: list[str] = []
        base = str(self.path)
        for module in self.modules:
            for directory, subdirs, names in os.walk(os.path.join(base, module)):
                subdirs.sort()
                files.extend(
                    os.path.relpath(os.path.join(directory, name), base)
                    for name in sorted(names)
                    if name.endswith(".proto") and os.path.isfile(os.path.join(directory, name))
                )
        return files

    def ignored_paths(self, check: str) -> tuple[str, ...]:
        """Root-relative paths buf.yaml leaves out of `check` ("lint" or "breaking"): the top-level
        `ignore` and each module's own (buf v2 writes both relative to buf.yaml)."""
        document = _buf_document(self.path / "buf.yaml")
        sections = [document.get(check)]
        sections += [module.get(check) for module in document.get("modules") or [] if isinstance(module, dict)]
        paths: list[str] = []
        for section in sections:
            if isinstance(section, dict) and isinstance(section.get("ignore"), list):
                paths.extend(str(path).strip("/") for path in section["ignore"])
        return tuple(dict.fromkeys(paths))

    def is_under(self, repo_path: str, paths: tuple[str, ...]) -> bool:
        """Whether the root-relative `repo_path` is one of `paths` or inside one of them."""
        return any(path in (".", "") or repo_path == path or repo_path.startswith(f"{path}/") for path in paths)

    def module_file_names(self, repo_paths: tuple[str, ...]) -> list[str]:
        """The module-relative names (as an image spells them) of the .proto files at or under `repo_paths`.

        buf refuses a workspace where two modules hold the same module-relative name, so the
        names are as exact as the paths they come from."""
        names = []
        for relative in self.proto_files():
            if self.is_under(relative, repo_paths):
                module = next((m for m in self.modules if m == "." or relative.startswith(f"{m}/")), ".")
                names.append(relative if module == "." else relative.removeprefix(f"{module}/"))
        return names

    @cached_property
    def content_hash(self) -> str:
        """A hash of everything buf compiles: equal hashes, equal images (and equal generated code).

        Computed once per command: lint, gen and breaking each ask for it more than once."""
        digest = hashlib.sha256()
        digest.update(buf_binary().encode())
        for name in ("buf.yaml", "buf.lock"):
            config = self.path / name
            if config.is_file():
                digest.update(name.encode() + b"\0" + config.read_bytes() + b"\0")
        for relative in self.proto_files():
            try:
                with open(self.path / relative, "rb") as proto:
                    content = proto.read()
            except OSError as error:
                raise ContractsError(
                    f"cannot read file: {error.strerror or error}", location=f"{relative}:1:1"
                ) from None
            digest.update(relative.encode() + b"\0" + content + b"\0")
        return digest.hexdigest()


def open_root(path: Path) -> RegistryRoot:
    path = path.resolve()
    buf_yaml = path / "buf.yaml"
    if not buf_yaml.is_file():
        raise ContractsError(f"no buf.yaml in {path}: run from the registry root or pass --root DIR")
    return RegistryRoot(path=path, modules=_buf_modules(buf_yaml), settings=_read_settings(path / CONFIG_FILE))


def _buf_document(buf_yaml: Path) -> dict[str, Any]:
    """buf.yaml as a mapping ({} when unreadable: open_root reported that already)."""
    try:
        document = yaml.safe_load(buf_yaml.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return document if isinstance(document, dict) else {}


def _buf_modules(buf_yaml: Path) -> tuple[str, ...]:
    try:
        document = yaml.safe_load(buf_yaml.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"buf.yaml:{mark.line + 1}:{mark.column + 1}" if mark else "buf.yaml"
        raise ContractsError(f"cannot parse: {getattr(error, 'problem', error)}", location=where) from None
    if not isinstance(document, dict):
        raise ContractsError("expected a mapping", location="buf.yaml")
    modules = document.get("modules") if document.get("version") == "v2" else None
    if not modules:
        return (".",)
    paths = tuple(str(module.get("path", ".")).rstrip("/") for module in modules if isinstance(module, dict))
    return paths or (".",)


def _read_settings(config_file: Path) -> Settings:
    if not config_file.is_file():
        return Settings()
    try:
        document = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ContractsError(f"cannot parse: {error}", location=CONFIG_FILE) from None
    try:
        version = str(document.get("version", Settings.version))
        go = GoSettings(**document.get("go", {}))
        settings = Settings(
            version=version,
            python=PythonSettings(**document.get("python", {})),
            go=replace(go, module=go_module_path(go.module, version)),
            rust=RustSettings(**document.get("rust", {})),
        )
    except TypeError as error:
        raise ContractsError(f"unknown setting: {error}", location=CONFIG_FILE) from None
    publish = settings.rust.publish
    if not isinstance(publish, bool) and not (
        isinstance(publish, list) and all(isinstance(name, str) and name for name in publish)
    ):
        raise ContractsError("[rust] publish is true, false or a list of registry names", location=CONFIG_FILE)
    return settings


def go_module_path(module: str, version: str) -> str:
    """Go's semantic import versioning: from v2 on, the module path ends in /v<major>.

    contracts.toml names the module once; `contracts release` to 2.0.0 moves it to <module>/v2,
    as the Go toolchain requires of a module tagged v2.0.0.
    """
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) < 2 or re.search(r"/v\d+$", module):
        return module
    return f"{module}/v{major}"
