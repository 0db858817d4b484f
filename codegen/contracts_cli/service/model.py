"""What a service template prints, decided here: names per language, paths, principal, CI layout.

The templates receive this as Copier answers (`ServiceAnswers.as_data()`), so the answers file of a
service records everything its template was rendered from and `copier update` can render the old
version again without the registry at hand.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from contracts_cli.config import RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.generate.go import go_import_path
from contracts_cli.generate.names import (
    PYTHON_KEYWORDS,
    RUST_KEYWORDS,
    go_camel_case,
    go_package_name,
    rust_ident,
    rust_upper_camel,
    topic_constant,
    topic_go_name,
)
from contracts_cli.model import Registry, TopicBinding, consumer_group, normalize_principal

LANGUAGES = ("python", "go", "rust")
# A DNS-1123 label (Kubernetes object names, container names), which is also a valid crate and
# distribution name and, with '-' -> '_', a Python package name.
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_MAX_NAME = 50  # room for the suffixes Kubernetes and the manifests add (`-kafka`, pod hashes)
# Where the Dockerfile builds: the registry's generated packages are copied beside it so that the
# service's relative path to the registry resolves inside the image as it does on disk.
DOCKER_WORKDIR = "/build/service"
HEALTH_PORT = 8080
# Non-root user of the final image (and the manifests' runAsUser).
RUN_AS_USER = 10001
GENERATED = "generated"


@dataclass(frozen=True)
class ServiceTopic:
    """One consumed or produced topic, named for the service's language."""

    topic: str
    message: str  # the type's name in the language (OrderPlaced)
    module: str  # Python: module to import from; Go: import path; Rust: path of the type
    alias: str  # Go: the import alias (ordersv1); Python/Rust: ""
    binding: str  # the generated topic constant / variable (ORDERS_PLACED_V1, OrdersPlacedV1)
    function: str  # handler / sender name stem (orders_placed_v1, OrdersPlacedV1)
    key_field: str
    # The service test's input: the message with a string key set to "test-<event id>", so that a
    # key's usual rules (non-empty, min_len) pass; other field rules are the team's to satisfy.
    sample: str


@dataclass(frozen=True)
class ServiceAnswers:
    language: str
    service_name: str
    module_name: str  # Python package / Rust crate identifier / Go package path
    principal: str
    group_id: str
    registry_path: str  # from the service directory to the registry root, POSIX separators
    registry_repository: str  # the registry's git remote (CI checks it out), or ""
    docker_registry_dir: str  # where the Dockerfile puts the registry's generated packages
    ci_service_path: str  # where CI checks out the service, relative to the workspace
    ci_registry_path: str  # and the registry: the same relative path between them
    package: dict[str, str]  # the registry's generated package names for this language
    consumes: tuple[ServiceTopic, ...]
    produces: tuple[ServiceTopic, ...]
    health_port: int = HEALTH_PORT
    run_as_user: int = RUN_AS_USER

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["consumes"] = [asdict(topic) for topic in self.consumes]
        data["produces"] = [asdict(topic) for topic in self.produces]
        return data


def check_service_name(name: str) -> None:
    if not _SERVICE_NAME.match(name) or len(name) > _MAX_NAME:
        raise ContractsError(
            f'service name "{name}" is not valid: use lowercase letters, digits and single hyphens, starting with '
            f'a letter, at most {_MAX_NAME} characters (e.g. "order-audit")'
        )
    module = name.replace("-", "_")
    if module in PYTHON_KEYWORDS or module in RUST_KEYWORDS or module in {"test", "main", "std", "core"}:
        raise ContractsError(f'service name "{name}" is reserved in Python, Go or Rust: pick another')


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ContractsError(f'--lang "{language}": choose one of {", ".join(LANGUAGES)}')


def service_answers(
    root: RegistryRoot,
    registry: Registry,
    *,
    name: str,
    language: str,
    consumes: list[str],
    produces: list[str],
    principal: str,
    target: Path,
    registry_repository: str,
) -> ServiceAnswers:
    bindings = {binding.name: binding for binding in registry.topics}
    for topic in [*consumes, *produces]:
        if topic not in bindings:
            known = ", ".join(sorted(bindings)) or "none"
            raise ContractsError(f'unknown topic "{topic}": the registry binds {known} (`contracts topics`)')
    registry_path = _relative_posix(root.path.resolve(), target.resolve())
    ci_service, ci_registry = _ci_layout(name, registry_path)
    name_of = {"python": _python_topic, "go": _go_topic, "rust": _rust_topic}[language]
    return ServiceAnswers(
        language=language,
        service_name=name,
        module_name=name.replace("-", "_"),
        principal=normalize_principal(principal),
        group_id=consumer_group(principal),
        registry_path=registry_path,
        registry_repository=github_repository(registry_repository),
        docker_registry_dir=posixpath.normpath(posixpath.join(DOCKER_WORKDIR, registry_path)),
        ci_service_path=ci_service,
        ci_registry_path=ci_registry,
        package=_package_names(root, language, registry_path),
        consumes=tuple(name_of(root, registry, bindings[topic]) for topic in _unique(consumes)),
        produces=tuple(name_of(root, registry, bindings[topic]) for topic in _unique(produces)),
    )


def github_repository(url: str) -> str:
    """`owner/name` of a GitHub remote (what actions/checkout wants), else ""."""
    match = re.match(r"^(?:https://|ssh://git@|git@)github\.com[/:]([^/]+/[^/]+?)(?:\.git)?/?$", url)
    return match.group(1) if match else ""


def _unique(topics: list[str]) -> list[str]:
    return list(dict.fromkeys(topics))


def _relative_posix(registry: Path, service: Path) -> str:
    try:
        relative = os.path.relpath(registry, service)
    except ValueError:  # another drive on Windows
        return registry.as_posix()
    return Path(relative).as_posix()


def _ci_layout(name: str, registry_path: str) -> tuple[str, str]:
    """Checkout paths under the CI workspace that keep `registry_path` true between the two repositories."""
    parts = registry_path.split("/")
    ups = len(parts) - len([part for part in parts if part != ".."])
    rest = "/".join(part for part in parts if part != "..")
    if registry_path.startswith("/") or ups == 0 or parts[:ups] != [".."] * ups or not rest:
        return name, "registry"  # not expressible as two sibling checkouts: CI's README note covers it
    return "/".join([*(["work"] * (ups - 1)), name]), rest


def _package_names(root: RegistryRoot, language: str, registry_path: str) -> dict[str, str]:
    settings = root.settings
    generated = f"{registry_path}/{GENERATED}"
    if language == "python":
        runtime = "" if settings.python.vendors_runtime else f"{registry_path}/runtime/python"
        return {
            "distribution": settings.python.distribution,
            "package": settings.python.package,
            "path": f"{generated}/python",
            "runtime_path": runtime if runtime and (root.path / "runtime" / "python").is_dir() else "",
        }
    if language == "go":
        replace = settings.go.runtime_replace
        return {
            "module": settings.go.module,
            "path": f"{generated}/go",
            "runtime_module": settings.go.runtime_module,
            "runtime_import": settings.go.runtime_import,
            # A registry with a local runtime: the service needs the same replace as generated/go.
            "runtime_path": posixpath.normpath(f"{generated}/go/{replace}") if replace else "",
        }
    return {
        "crate": settings.rust.crate,
        "crate_ident": settings.rust.crate.replace("-", "_"),
        "path": f"{generated}/rust",
    }


def _python_topic(root: RegistryRoot, registry: Registry, binding: TopicBinding) -> ServiceTopic:
    message = registry.messages[binding.message]
    package = root.settings.python.package
    if root.settings.python.runtime == "betterproto":
        module = f"{package}.{message.package}"
    else:
        module = f"{package}." + message.file.removesuffix(".proto").replace("/", ".").replace("-", "_") + "_pb2"
    constant = topic_constant(binding.name)
    key = _string_key(registry, binding)
    sample = f'{message.name}({key}="test-" + event_id)' if key else f"{message.name}()"
    return ServiceTopic(binding.name, message.name, module, "", constant, constant.lower(), binding.key, sample)


def _go_topic(root: RegistryRoot, registry: Registry, binding: TopicBinding) -> ServiceTopic:
    message = registry.messages[binding.message]
    alias = go_package_name(message.package)
    var = topic_go_name(binding.name)
    path = go_import_path(root.settings, message.file)
    type_name = go_camel_case(message.name)
    key = _string_key(registry, binding)
    fields = f'{go_camel_case(key)}: "test-" + eventID' if key else ""
    sample = f"&{alias}.{type_name}{{{fields}}}"
    return ServiceTopic(binding.name, type_name, path, alias, var, var, binding.key, sample)


def _rust_topic(root: RegistryRoot, registry: Registry, binding: TopicBinding) -> ServiceTopic:
    message = registry.messages[binding.message]
    crate = root.settings.rust.crate.replace("-", "_")
    path = "::".join([crate, *(rust_ident(part) for part in message.package.split("."))])
    constant = topic_constant(binding.name)
    type_name = rust_upper_camel(message.name)
    key = _string_key(registry, binding)
    sample = (
        f'{type_name} {{ {rust_ident(key)}: format!("test-{{event_id}}"), ..Default::default() }}'
        if key
        else f"{type_name}::default()"
    )
    return ServiceTopic(
        binding.name, type_name, f"{path}::{type_name}", "", constant, constant.lower(), binding.key, sample
    )


def _string_key(registry: Registry, binding: TopicBinding) -> str:
    """The key field's name when it is a plain string field, else ""."""
    fields = {field.name: field for field in registry.messages[binding.message].fields}
    key = fields.get(binding.key)
    if key is None or key.kind != "scalar" or key.type_name != "string" or key.repeated:
        return ""
    return key.name
