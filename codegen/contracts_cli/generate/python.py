"""Python: protoc's python/pyi output under one package, plus typed topic bindings."""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from contracts_cli.config import Settings
from contracts_cli.errors import ContractsError
from contracts_cli.generate.files import GeneratedFiles, is_kept
from contracts_cli.generate.names import PYTHON_KEYWORDS, topic_constant
from contracts_cli.generate.templates import render
from contracts_cli.generate.tools import protoc_wrapper
from contracts_cli.generate.vendor import runtime_sources
from contracts_cli.model import ProtoFile, Registry, TopicBinding
from contracts_cli.resources import data_path

NAME = "python"
PYTHON_RUNTIMES = ("protobuf", "betterproto")
VENDORED_PACKAGE = "contracts_runtime"
# protoc's gencode (grpcio-tools 1.85.1, protoc 35.1) checks at import that protobuf is 7.35.1 or newer, below 8.
GENCODE_PROTOBUF = "protobuf>=7.35.1,<8"


@cache
def runtime_requirements() -> tuple[str, ...]:
    """The `dependencies` of the Python runtime's pyproject.toml (shipped in the CLI's wheel): the
    ranges a vendored runtime needs, read from the one place that states them."""
    pyproject = data_path("runtime/python") / "pyproject.toml"
    return tuple(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])


@dataclass(frozen=True)
class PythonTopic:
    constant: str
    module_alias: str
    class_name: str
    literals: dict[str, str]  # Topic(...) and TopicSettings(...) arguments as Python literals
    doc: str


@dataclass(frozen=True)
class PythonImport:
    package: str
    module: str
    alias: str


def plugins(registry: Registry, settings: Settings) -> list[dict[str, Any]]:
    out = f"{NAME}/{settings.python.package}"
    if settings.python.runtime == "betterproto":
        # One invocation for all files: betterproto2 writes shared packages (google.protobuf) once.
        return [{"local": str(_betterproto_plugin()), "out": out, "strategy": "all"}]
    wrapper = str(protoc_wrapper())
    return [
        # strategy all: buf's default starts protoc (a Python process here) once per directory.
        {"protoc_builtin": "python", "protoc_path": wrapper, "out": out, "strategy": "all"},
        {"protoc_builtin": "pyi", "protoc_path": wrapper, "out": out, "strategy": "all"},
    ]


def render_package(registry: Registry, settings: Settings, files: GeneratedFiles) -> None:
    package = settings.python.package
    if not package.isidentifier() or package in PYTHON_KEYWORDS:
        raise ContractsError(
            f"python.package {package!r} is not a valid Python package name", location="contracts.toml"
        )
    if settings.python.runtime not in PYTHON_RUNTIMES:
        raise ContractsError(
            f"python.runtime {settings.python.runtime!r} is not one of {', '.join(PYTHON_RUNTIMES)}",
            location="contracts.toml",
        )
    package_dir = f"{NAME}/{package}"
    betterproto = settings.python.runtime == "betterproto"
    if not betterproto:
        # protovalidate's buf/validate/validate_pb2.py goes under the package too: the contracts'
        # modules import it, and the protovalidate distribution does not ship it.
        source_roots = {f.name.split("/", 1)[0] for f in _generated(registry)}
        _prefix_imports(files, package_dir, package, source_roots)
    _add_init_files(files, package_dir)
    topics, imports = _python_topics(registry, package, betterproto)
    files[f"{package_dir}/topics.py"] = render("python/topics.py.j2", topics=topics, imports=imports).encode()
    files[f"{package_dir}/__init__.py"] = render("python/__init__.py.j2", version=settings.version).encode()
    files[f"{package_dir}/py.typed"] = b""
    if settings.python.vendors_runtime:
        _vendor_runtime(files)
    files[f"{NAME}/pyproject.toml"] = render(
        "python/pyproject.toml.j2",
        settings=settings.python,
        version=settings.version,
        packages=[package, VENDORED_PACKAGE] if settings.python.vendors_runtime else [package],
        dependencies=_dependencies(settings, betterproto),
    ).encode()


def _dependencies(settings: Settings, betterproto: bool) -> list[str]:
    """What the generated distribution requires: its message runtime, then the contracts runtime's needs.

    A vendored runtime brings its own dependency ranges; protoc's gencode needs a newer protobuf
    than the runtime does, so its narrower range replaces the runtime's."""
    message_runtime = "betterproto2==0.10.0" if betterproto else GENCODE_PROTOBUF
    if not settings.python.vendors_runtime:
        return [message_runtime, settings.python.runtime_requirement]
    covered = set() if betterproto else {"protobuf"}
    return [message_runtime, *(r for r in runtime_requirements() if _requirement_name(r) not in covered)]


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def _vendor_runtime(files: GeneratedFiles) -> None:
    """contracts_runtime as a top-level package beside the generated one: user code imports it by the
    same name in every registry, so examples and docs hold everywhere."""
    for relative, content in runtime_sources("python").items():
        files[f"{NAME}/{VENDORED_PACKAGE}/{relative}"] = content


def _python_topics(registry: Registry, package: str, betterproto: bool) -> tuple[list[PythonTopic], list[PythonImport]]:
    imports: dict[str, PythonImport] = {}
    topics = []
    for binding in registry.topics:
        message = registry.messages[binding.message]
        # protoc writes a module per .proto file; betterproto2 a package per proto package.
        if betterproto:
            module_path = message.package
        else:
            module_path = message.file.removesuffix(".proto").replace("/", ".").replace("-", "_") + "_pb2"
        parent, _, module = module_path.rpartition(".")
        alias = "_" + module_path.replace(".", "_")
        imports[alias] = PythonImport(f"{package}.{parent}" if parent else package, module, alias)
        topics.append(
            PythonTopic(
                constant=topic_constant(binding.name),
                module_alias=alias,
                class_name=message.name,
                literals=_literals(binding),
                doc=message.comment.replace('"""', "'''"),
            )
        )
    return topics, sorted(imports.values(), key=lambda i: i.alias)


def _literals(binding: TopicBinding) -> dict[str, str]:
    return {
        "name": repr(binding.name),
        "type_name": repr(binding.message),
        "key_field": repr(binding.key or None),
        "partitions": repr(binding.partitions),
        "replication_factor": repr(binding.replication_factor),
        "retention_ms": repr(binding.retention_ms),
        "cleanup_policy": repr(binding.cleanup_policy or None),
        "owner": repr(binding.owner),
        "producers": repr(tuple(binding.producers)),
        "consumers": repr(tuple(binding.consumers)),
        "compatibility": repr(binding.compatibility),
        "validation": repr(binding.validation),
    }


def _generated(registry: Registry) -> list[ProtoFile]:
    """The files protoc writes modules for: the registry's own and the protovalidate rules they import."""
    return [f for f in registry.files.values() if f.vendored or not f.name.startswith("google/protobuf/")]


def _betterproto_plugin() -> Path:
    plugin = Path(sys.executable).parent / "protoc-gen-python_betterproto2"
    if not plugin.is_file():
        raise ContractsError(
            "python.runtime = betterproto needs betterproto2-compiler: pip install 'contracts[betterproto]'"
        )
    return plugin


def _prefix_imports(files: GeneratedFiles, package_dir: str, package: str, source_roots: set[str]) -> None:
    """protoc writes absolute imports (`from audit.v1 import ...`); move them under our package.

    Without this the registry's top-level proto directories would become top-level
    Python packages and collide with anything of the same name (`email` is in the stdlib).
    """

    def moved(match: re.Match[str]) -> str:
        prefix, root, rest = match.groups()
        return f"{prefix}{package}.{root}{rest}" if root in source_roots else match[0]

    # Any first name, then a set lookup: one alternation of every root took a second to compile at
    # 10,000 files. The well-known types stay where protobuf installs them, even when the registry
    # has a google/ directory of its own.
    import_line = re.compile(r"^((?:from|import) )(?!google\.protobuf[. ])([^.\s]+)(\.| )", re.MULTILINE)
    module_name = re.compile(r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')([^.']+)(\.)")
    for name, content in files.items():
        # Kept files are last run's output, already moved: their package's inputs did not change.
        if is_kept(content):
            continue
        if name.startswith(package_dir + "/") and name.endswith(("_pb2.py", "_pb2.pyi")):
            text = import_line.sub(moved, content.decode())
            files[name] = module_name.sub(moved, text).encode()


def _add_init_files(files: GeneratedFiles, package_dir: str) -> None:
    """Every directory of the package is a regular package (mypy and setuptools look for __init__.py)."""
    directories = {package_dir}
    for name in files:
        if name.startswith(package_dir + "/"):
            parent = name.rsplit("/", 1)[0]
            while parent != package_dir and parent not in directories:
                directories.add(parent)
                parent = parent.rsplit("/", 1)[0]
    for directory in directories:
        files.setdefault(f"{directory}/__init__.py", b"")
