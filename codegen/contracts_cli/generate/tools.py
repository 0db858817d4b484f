"""Code generator plugins at pinned versions, installed on first use into the tool cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from contracts_cli.buf import cache_dir
from contracts_cli.errors import ContractsError
from contracts_cli.toolchain import PROTOC_GEN_GO_VERSION, PROTOC_GEN_PROST_VERSION


@dataclass(frozen=True)
class Plugin:
    name: str
    version: str
    toolchain: str  # the command that installs it: go or cargo

    @property
    def home(self) -> Path:
        return cache_dir() / "tools" / f"{self.name}-{self.version}"

    @property
    def binary(self) -> Path:
        return self.home / "bin" / self.name

    def ensure(self) -> Path:
        if self.binary.is_file():
            return self.binary
        if shutil.which(self.toolchain) is None:
            raise ContractsError(
                f"{self.name} {self.version} is not installed and {self.toolchain} is not on PATH: "
                f"install {self.toolchain} or leave this language out with --lang"
            )
        print(f"installing {self.name} {self.version} into {self.home} ...", file=sys.stderr)
        partial = self.home.with_name(self.home.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        result = subprocess.run(
            self._install_command(partial),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GOBIN": str(partial / "bin")},
        )
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ContractsError(f"installing {self.name} {self.version} failed: {tail[0]}")
        shutil.rmtree(self.home, ignore_errors=True)
        os.replace(partial, self.home)
        return self.binary

    def _install_command(self, into: Path) -> list[str]:
        if self.toolchain == "go":
            return ["go", "install", f"google.golang.org/protobuf/cmd/{self.name}@{self.version}"]
        return ["cargo", "install", f"{self.name}@{self.version}", "--locked", "--root", str(into)]


PROTOC_GEN_GO = Plugin("protoc-gen-go", PROTOC_GEN_GO_VERSION, "go")
PROTOC_GEN_PROST = Plugin("protoc-gen-prost", PROTOC_GEN_PROST_VERSION, "cargo")


def protoc_wrapper() -> Path:
    """buf runs protoc's built-in python/pyi generators through `protoc`; grpcio-tools bundles one."""
    wrapper = cache_dir() / "tools" / "protoc-wrapper" / "protoc"
    script = f'#!/bin/sh\nexec "{sys.executable}" -m grpc_tools.protoc "$@"\n'
    if not wrapper.is_file() or wrapper.read_text(encoding="utf-8") != script:
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        partial = wrapper.with_suffix(".partial")
        partial.write_text(script, encoding="utf-8")
        partial.chmod(0o755)
        os.replace(partial, wrapper)
    return wrapper
