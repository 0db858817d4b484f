"""Go: protoc-gen-go output in one module, plus generic topic bindings in package `topics`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts_cli.config import Settings
from contracts_cli.generate.files import GeneratedFiles
from contracts_cli.generate.names import go_camel_case, go_package_name, topic_go_name
from contracts_cli.generate.templates import render
from contracts_cli.generate.tools import PROTOC_GEN_GO
from contracts_cli.model import Field, Registry, TopicBinding
from contracts_cli.toolchain import GO_DIRECTIVE, PROTOBUF_GO_VERSION

NAME = "go"

# Which runtime key helper takes a field of each kind, and the conversion it needs.
_KEY_HELPERS = {
    "string": ("KeyString", ""),
    "bytes": ("KeyBytes", ""),
    "bool": ("KeyBool", ""),
    **{kind: ("KeyInt64", "int64") for kind in ("int32", "int64", "sint32", "sint64", "sfixed32", "sfixed64")},
    **{kind: ("KeyUint64", "uint64") for kind in ("uint32", "uint64", "fixed32", "fixed64")},
}


@dataclass(frozen=True)
class GoImport:
    alias: str
    path: str


@dataclass(frozen=True)
class GoTopic:
    var_name: str
    type_name: str
    message_type: str  # e.g. *auditv1.AuditEvent
    constructor: str  # e.g. new(auditv1.AuditEvent)
    key_expression: str  # Go expression over `m`, or "" for no key
    literals: dict[str, str]
    doc: str


def go_import_path(settings: Settings, proto_file: str) -> str:
    directory = proto_file.rsplit("/", 1)[0] if "/" in proto_file else ""
    return f"{settings.go.module}/{directory}" if directory else settings.go.module


def plugins(registry: Registry, settings: Settings) -> list[dict[str, Any]]:
    mappings = [
        f"M{f.name}={go_import_path(settings, f.name)};{go_package_name(f.package)}" for f in registry.local_files()
    ]
    # strategy all: one plugin process for the registry instead of one per directory.
    options = ["paths=source_relative", *mappings]
    return [{"local": str(PROTOC_GEN_GO.ensure()), "out": NAME, "opt": options, "strategy": "all"}]


def render_package(registry: Registry, settings: Settings, files: GeneratedFiles) -> None:
    topics, imports = _go_topics(registry, settings)
    files[f"{NAME}/topics/topics.go"] = render("go/topics.go.j2", topics=topics, imports=imports).encode()
    files[f"{NAME}/go.mod"] = render(
        "go/go.mod.j2", go=settings.go, go_directive=GO_DIRECTIVE, protobuf_version=PROTOBUF_GO_VERSION
    ).encode()
    files[f"{NAME}/go.sum"] = render("go/go.sum").encode()


def _go_topics(registry: Registry, settings: Settings) -> tuple[list[GoTopic], list[GoImport]]:
    imports: dict[str, GoImport] = {settings.go.runtime_module: GoImport("contracts", settings.go.runtime_module)}
    topics = []
    for binding in registry.topics:
        message = registry.messages[binding.message]
        alias = _import_alias(imports, go_import_path(settings, message.file), go_package_name(message.package))
        go_type = f"{alias}.{go_camel_case(message.name)}"
        key_field = message.field_named(binding.key) if binding.key else None
        topics.append(
            GoTopic(
                var_name=topic_go_name(binding.name),
                type_name=binding.message,
                message_type=f"*{go_type}",
                constructor=f"new({go_type})",
                key_expression=_key_expression(key_field) if key_field else "",
                literals=_literals(binding),
                doc=" ".join(message.comment.split()),
            )
        )
    # gofmt keeps one import block sorted by path.
    return topics, sorted(imports.values(), key=lambda i: i.path)


def _import_alias(imports: dict[str, GoImport], path: str, package_name: str) -> str:
    """One alias per import path; `a_b.v1` and `ab.v1` both want `abv1`, so the second gets `abv1_2`."""
    if path not in imports:
        taken = {item.alias for item in imports.values()}
        alias, suffix = package_name, 2
        while alias in taken:
            alias, suffix = f"{package_name}_{suffix}", suffix + 1
        imports[path] = GoImport(alias, path)
    return imports[path].alias


def _key_expression(key_field: Field) -> str:
    getter = f"m.Get{go_camel_case(key_field.name)}()"
    helper, conversion = ("KeyInt64", "int64") if key_field.kind == "enum" else _KEY_HELPERS[key_field.type_name]
    return f"contracts.{helper}({conversion}({getter}))" if conversion else f"contracts.{helper}({getter})"


def _go_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _literals(binding: TopicBinding) -> dict[str, str]:
    return {
        "name": _go_string(binding.name),
        "type_name": _go_string(binding.message),
        "partitions": str(binding.partitions or 0),
        "replication_factor": str(binding.replication_factor or 0),
        "retention_ms": str(binding.retention_ms or 0),
        "cleanup_policy": _go_string(binding.cleanup_policy),
        "owner": _go_string(binding.owner),
        "producers": "[]string{" + ", ".join(_go_string(p) for p in binding.producers) + "}",
        "consumers": "[]string{" + ", ".join(_go_string(c) for c in binding.consumers) + "}",
        "compatibility": _go_string(binding.compatibility),
    }
