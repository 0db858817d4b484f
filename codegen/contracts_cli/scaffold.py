"""`contracts new`: one new contract file, bound to a new topic, that passes lint and gen as written.

Names are checked before anything is written, with the registry rules' own checks where there
are some (Kafka topic names, the `.v<N>` suffix, TOPIC_NAME_COLLISION), and against the names
the generators derive (Python modules, Go packages, topic constants), so `gen` cannot trip on
the new file either. The file is created exclusively: an existing file is never overwritten.

Default topic name: `<domain>.<message in kebab-case>.v<N>` (`billing` + `InvoicePaid` ->
`billing.invoice-paid.v1`). Dots separate levels and hyphens separate words, so a default name
never collides with another by TOPIC_NAME_COLLISION, which treats '.' and '_' alike.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from contracts_cli.config import RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.generate.names import PYTHON_KEYWORDS, go_package_name, rust_snake, topic_constant, topic_go_name
from contracts_cli.generate.templates import render
from contracts_cli.load import load_registry
from contracts_cli.model import TOPIC_EXTENSION, Registry
from contracts_cli.rules.binding import package_major_version
from contracts_cli.rules.naming import VERSION_SUFFIX, kafka_name_problem

OPTIONS_PACKAGE = TOPIC_EXTENSION.rsplit(".", 1)[0]
# One package component in buf's lower_snake_case.
_PACKAGE_PART = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
# PascalCase, or words joined by '_' or '-' that become PascalCase.
_MESSAGE_WORDS = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*$")
_RESERVED_DOMAINS = {
    "google": "google.* holds protobuf's well-known types",
    "contracts": "contracts.* holds the registry's own topic option",
    "topics": "the generated packages have a `topics` module of their own",
    "runtime": "the generated Rust crate exports its runtime library as `runtime`",
}
# Type names that Python or Rust cannot use as a class or struct name.
_RESERVED_MESSAGES = frozenset({"None", "True", "False", "Self"})
_FIELD = "id"


@dataclass(frozen=True)
class NewContract:
    """What the template prints; every name already checked."""

    path: str  # relative to the registry root
    package: str
    message: str
    topic: str
    key: str
    owner: str  # as a proto string literal's content (escaped)
    options_import: str


def scaffold(
    root: RegistryRoot,
    domain: str,
    message: str,
    *,
    topic: str | None = None,
    version: int = 1,
    owner: str | None = None,
) -> str:
    """Write the new contract file and return its path relative to the registry root."""
    package = _package(domain, version)
    message_name = _message_name(message)
    topic_name = topic if topic is not None else default_topic(domain, message_name, version)
    _check_topic_name(topic_name, version)
    owner_text = _owner(owner if owner is not None else f"team-{domain.split('.')[0].replace('_', '-')}")
    registry = load_registry(root)
    module, options_import = _options_module(root, registry)
    path = "/".join(part for part in (module, *package.split("."), f"{rust_snake(message_name)}.proto") if part != ".")
    if (root.path / path).exists():
        raise ContractsError(f"{path} already exists: pick another message name, or edit that file")
    _check_registry(registry, package, message_name, topic_name)
    contract = NewContract(path, package, message_name, topic_name, _FIELD, owner_text, options_import)
    _create(root.path, path, render("new/contract.proto.j2", contract=contract))
    return path


def default_topic(domain: str, message_name: str, version: int) -> str:
    return f"{domain}.{rust_snake(message_name).replace('_', '-')}.v{version}"


def _package(domain: str, version: int) -> str:
    if version < 1:
        raise ContractsError(f"--version {version}: a major version is 1 or more")
    parts = domain.split(".")
    for part in parts:
        if not _PACKAGE_PART.match(part):
            raise ContractsError(
                f'domain "{domain}" is not a valid package name: use lower_snake_case parts joined by dots, '
                'e.g. "billing" or "billing.invoices"'
            )
        if package_major_version(part) is not None:
            raise ContractsError(f'domain "{domain}": "{part}" looks like a version; the version is --version N')
        if part in PYTHON_KEYWORDS:
            raise ContractsError(f'domain "{domain}": "{part}" is a Python keyword and cannot name a Python package')
    if parts[0] in _RESERVED_DOMAINS:
        raise ContractsError(f'domain "{domain}" is reserved: {_RESERVED_DOMAINS[parts[0]]}')
    return f"{domain}.v{version}"


def _message_name(message: str) -> str:
    if not _MESSAGE_WORDS.match(message):
        raise ContractsError(
            f'message "{message}" is not a valid type name: use PascalCase letters and digits, e.g. "InvoicePaid"'
        )
    name = "".join(word[:1].upper() + word[1:] for word in re.split(r"[_-]", message))
    if name in _RESERVED_MESSAGES:
        raise ContractsError(f'message "{message}" cannot name a type in the generated Python or Rust code')
    return name


def _check_topic_name(topic: str, version: int) -> None:
    problem = kafka_name_problem(topic)
    if not topic or problem:
        raise ContractsError(f'topic "{topic}" {problem or "is empty"}')
    suffix = VERSION_SUFFIX.search(topic)
    if suffix is None or suffix.group(1) != str(version):
        raise ContractsError(f'topic "{topic}" must end in ".v{version}", the major version of the package')


def _owner(owner: str) -> str:
    text = owner.strip()
    if not text or any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ContractsError(f"--owner {owner!r}: give the owning team's name on one line")
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _options_module(root: RegistryRoot, registry: Registry) -> tuple[str, str]:
    """The buf module holding the topic option (new files go beside it) and its import path."""
    options = next((f for f in registry.local_files() if f.package == OPTIONS_PACKAGE), None)
    if options is None:
        raise ContractsError(f"the registry has no {OPTIONS_PACKAGE} package with the topic option to bind with")
    module = options.path.removesuffix(options.name).rstrip("/") or "."
    return module, options.name


def _check_registry(registry: Registry, package: str, message: str, topic: str) -> None:
    full_name = f"{package}.{message}"
    existing = registry.messages.get(full_name) or registry.enums.get(full_name)
    if existing is not None:
        raise ContractsError(f"{full_name} is already defined in {existing.location.path}:{existing.location.line}")
    for binding in registry.topics:
        where = f"{binding.message} ({binding.location.path}:{binding.location.line})"
        if binding.name == topic:
            raise ContractsError(f'topic "{topic}" is already bound by {where}: pick another --topic')
        if binding.name.replace(".", "_") == topic.replace(".", "_"):
            raise ContractsError(
                f'topic "{topic}" collides with "{binding.name}" of {where} once "." and "_" are treated alike '
                "(TOPIC_NAME_COLLISION): pick another --topic"
            )
        if topic_constant(binding.name) == topic_constant(topic) or topic_go_name(binding.name) == topic_go_name(topic):
            raise ContractsError(
                f'topic "{topic}" would get the same generated constant as "{binding.name}" of {where}: '
                "pick another --topic"
            )
    go_name = go_package_name(package)
    for other in sorted({f.package for f in registry.local_files()}):
        if other != package and go_package_name(other) == go_name:
            raise ContractsError(f'package "{package}" would share the Go package name {go_name} with "{other}"')


def _create(root: Path, relative: str, content: str) -> None:
    """Create the file and the directories it needs; on failure, remove what was created."""
    path = root / relative
    created: list[Path] = []
    directory = path.parent
    while not directory.exists():
        created.append(directory)
        directory = directory.parent
    opened = False
    try:
        for new_directory in reversed(created):
            new_directory.mkdir()
        with open(path, "x", encoding="utf-8") as handle:
            opened = True
            handle.write(content)
    except OSError as error:
        if opened:
            path.unlink(missing_ok=True)
        for new_directory in created:
            if new_directory.is_dir() and not any(new_directory.iterdir()):
                os.rmdir(new_directory)
        if isinstance(error, FileExistsError) and not opened:
            raise ContractsError(f"{relative} already exists: pick another message name, or edit that file") from None
        raise ContractsError(f"cannot write {relative}: {error.strerror or error}") from None
