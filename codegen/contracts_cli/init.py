"""`contracts init`: a new registry in an empty or existing git repository.

Writes buf.yaml, contracts.toml, the CLI's own options.proto, protovalidate's validate.proto (in a
buf module of its own, third_party/, outside lint and breaking), a CI workflow and a README. Files
that are there already are left as they are (and reported as skipped); only an existing registry
(buf.yaml or contracts.toml) is refused. Every name is checked and every file rendered before the
first one is written, so a refusal leaves the directory untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from contracts_cli.config import RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.findings import Finding
from contracts_cli.generate.templates import render
from contracts_cli.git import run_git as _git
from contracts_cli.resources import cli_version, options_proto, validate_proto

OPTIONS_PROTO = "proto/contracts/v1/options.proto"
VALIDATE_PROTO = "third_party/buf/validate/validate.proto"
WORKFLOW = ".github/workflows/contracts.yml"
REGISTRY_FILES = ("buf.yaml", "contracts.toml")

_PYTHON_PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
_DISTRIBUTION = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_GO_MODULE = re.compile(r"^[a-z0-9.-]+(/[A-Za-z0-9._~-]+)+$")
_CRATE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
# git@host:owner/repo(.git) or scheme://[user@]host[:port]/owner/repo(.git)
_SCP_REMOTE = re.compile(r"^[^@/]+@([^:/]+):(.+?)(?:\.git)?/?$")
_URL_REMOTE = re.compile(r"^[a-z+]+://(?:[^@/]+@)?([^/:]+)(?::\d+)?/(.+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class PackageNames:
    python_package: str
    python_distribution: str
    go_module: str
    rust_crate: str


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def default_names(directory: Path, remote_url: str | None) -> PackageNames:
    """`<dir>_contracts` / `<dir>-contracts`, and the Go module at `<repository>/generated/go`."""
    slug = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-") or "registry"
    if not slug[0].isalpha():
        slug = f"registry-{slug}"
    base = slug if slug.endswith("contracts") else f"{slug}-contracts"
    repository = _repository_path(remote_url) or f"example.com/{slug}"
    return PackageNames(
        python_package=base.replace("-", "_"),
        python_distribution=base,
        go_module=f"{repository}/generated/go",
        rust_crate=base,
    )


def _repository_path(remote_url: str | None) -> str | None:
    if not remote_url:
        return None
    for pattern in (_SCP_REMOTE, _URL_REMOTE):
        match = pattern.match(remote_url.strip())
        if match:
            return f"{match.group(1).lower()}/{match.group(2)}"
    return None


def check_names(names: PackageNames) -> None:
    checks = (
        ("--python-package", names.python_package, _PYTHON_PACKAGE, "a lower-case Python identifier"),
        ("--python-distribution", names.python_distribution, _DISTRIBUTION, "a valid distribution name"),
        ("--go-module", names.go_module, _GO_MODULE, "a module path such as github.com/acme/registry/generated/go"),
        ("--rust-crate", names.rust_crate, _CRATE, "a crate name (letters, digits, - and _)"),
    )
    for flag, value, pattern, expected in checks:
        if not pattern.match(value):
            raise ContractsError(f"{flag} {value!r} is not {expected}")


def init_registry(directory: Path, names: PackageNames) -> InitResult:
    check_names(names)
    existing = [name for name in REGISTRY_FILES if (directory / name).exists()]
    if existing:
        raise ContractsError(f"{directory / existing[0]} exists: this is a registry already (nothing written)")
    if directory.exists() and not directory.is_dir():
        raise ContractsError(f"{directory} is not a directory")
    files = _render_files(directory, names)
    result = InitResult()
    directory.mkdir(parents=True, exist_ok=True)
    if not _inside_git_repository(directory):
        _git(directory, "init", "--quiet")
        result.notes.append(f"initialised a git repository in {directory}")
    for relative, content in files.items():
        target = directory / relative
        if target.exists():
            result.skipped.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(content)
        result.created.append(relative)
    if names.go_module.startswith("example.com/"):
        result.notes.append(
            f"the Go module is {names.go_module}: set [go] module in contracts.toml to "
            "<your repository>/generated/go so that `go get` finds it"
        )
    return result


def _render_files(directory: Path, names: PackageNames) -> dict[str, str]:
    data = {
        "python_package": names.python_package,
        "python_distribution": names.python_distribution,
        "go_module": names.go_module,
        "rust_crate": names.rust_crate,
        "cli_version": cli_version(),
        "title": directory.resolve().name,
    }
    return {
        "buf.yaml": render("init/buf.yaml.j2", **data),
        "contracts.toml": render("init/contracts.toml.j2", **data),
        OPTIONS_PROTO: options_proto().read_text(encoding="utf-8"),
        VALIDATE_PROTO: validate_proto().read_text(encoding="utf-8"),
        WORKFLOW: render("init/workflow.yml.j2", **data),
        "README.md": render("init/README.md.j2", **data),
    }


def origin_url(directory: Path) -> str | None:
    if not directory.is_dir():
        return None
    result = _git(directory, "remote", "get-url", "origin")
    return result.stdout.strip() or None if result.returncode == 0 else None


def _inside_git_repository(directory: Path) -> bool:
    return _git(directory, "rev-parse", "--git-dir").returncode == 0


OPTIONS_OUTDATED = "CONTRACTS_OPTIONS_OUTDATED"


def registry_options_files(root: RegistryRoot) -> list[Path]:
    """The registry's copies of the topic option's proto (one per buf module that has it)."""
    relative = Path(OPTIONS_PROTO).relative_to("proto")
    return [path for module in root.modules if (path := root.path / module / relative).is_file()]


def options_drift(root: RegistryRoot) -> list[Finding]:
    """A finding for each copy of options.proto that is not the installed CLI's (an old registry after an upgrade)."""
    own = options_proto().read_bytes()
    return [
        Finding(
            path=str(path.relative_to(root.path)),
            line=1,
            column=1,
            rule=OPTIONS_OUTDATED,
            message=f"differs from the topic option of contracts {cli_version()}: `contracts upgrade` replaces it",
        )
        for path in registry_options_files(root)
        if path.read_bytes() != own
    ]


def upgrade_options(root: RegistryRoot) -> list[str]:
    """Replace outdated copies of options.proto with the CLI's; returns the paths it rewrote."""
    own = options_proto().read_bytes()
    rewritten = []
    for path in registry_options_files(root):
        if path.read_bytes() != own:
            partial = path.with_suffix(".proto.partial")
            partial.write_bytes(own)
            partial.replace(path)
            rewritten.append(str(path.relative_to(root.path)))
    return rewritten
