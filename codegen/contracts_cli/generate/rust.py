"""Rust: prost output in one crate (a module per proto package), plus typed topic constants."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from contracts_cli.config import Settings
from contracts_cli.generate import vendor
from contracts_cli.generate.files import GeneratedFiles
from contracts_cli.generate.names import rust_ident, rust_upper_camel, topic_constant
from contracts_cli.generate.templates import render
from contracts_cli.generate.tools import PROTOC_GEN_PROST
from contracts_cli.model import Field, Registry, TopicBinding
from contracts_cli.toolchain import PROST_VERSION

NAME = "rust"
# The vendored runtime crate, a path dependency inside generated/rust (left out of the outer package).
VENDORED_CRATE_DIR = "contracts-runtime"

_KEY_HELPERS = {
    "string": "key::string(&m.{field})",
    "bytes": "key::bytes(&m.{field})",
    "bool": "key::boolean(m.{field})",
    **{kind: "key::int(i64::from(m.{field}))" for kind in ("int32", "sint32", "sfixed32")},
    **{kind: "key::int(m.{field})" for kind in ("int64", "sint64", "sfixed64")},
    **{kind: "key::uint(u64::from(m.{field}))" for kind in ("uint32", "fixed32")},
    **{kind: "key::uint(m.{field})" for kind in ("uint64", "fixed64")},
}


@dataclass
class RustModule:
    """One level of the module tree that mirrors proto packages (`audit` -> `v1`)."""

    name: str
    include: str = ""  # the prost file included at this level, if a package ends here
    children: list[RustModule] = field(default_factory=list)


@dataclass(frozen=True)
class RustTopic:
    constant: str
    message_type: str  # crate::audit::v1::AuditEvent
    key_expression: str  # a closure body over `m`, or "" for no key
    literals: dict[str, str]
    doc: str


def plugins(registry: Registry, settings: Settings) -> list[dict[str, Any]]:
    # BTreeMap keeps map fields in key order, so encodings match Go's and Python's deterministic output.
    # strategy all: prost writes one file per proto package, whichever directories its files are in.
    return [{"local": str(PROTOC_GEN_PROST.ensure()), "out": f"{NAME}/src", "opt": ["btree_map=."], "strategy": "all"}]


def render_package(registry: Registry, settings: Settings, files: GeneratedFiles) -> None:
    modules = _module_tree(registry)
    topics = [_rust_topic(registry, binding) for binding in registry.topics]
    files[f"{NAME}/src/lib.rs"] = render("rust/lib.rs.j2", modules=modules).encode()
    files[f"{NAME}/src/topics.rs"] = render("rust/topics.rs.j2", topics=topics).encode()
    runtime = vendor.runtime_sources("rust")
    manifest = tomllib.loads(runtime["Cargo.toml"].decode())
    if settings.rust.vendors_runtime:
        for relative, content in runtime.items():
            files[f"{NAME}/{VENDORED_CRATE_DIR}/{relative}"] = content
        files[f"{NAME}/{VENDORED_CRATE_DIR}/VENDORED.md"] = vendor.vendored_note("Rust")
    files[f"{NAME}/Cargo.toml"] = render(
        "rust/Cargo.toml.j2",
        rust=settings.rust,
        version=settings.version,
        prost_version=PROST_VERSION,
        runtime_version=manifest["package"]["version"]
        if settings.rust.vendors_runtime
        else settings.rust.runtime_version,
        runtime_path=VENDORED_CRATE_DIR if settings.rust.vendors_runtime else settings.rust.runtime_path,
        features=sorted(name for name in manifest.get("features", {}) if name != "default"),
    ).encode()


def _module_tree(registry: Registry) -> list[RustModule]:
    top = RustModule("crate")
    first_file: dict[str, str] = {}
    for proto_file in registry.local_files():
        first_file.setdefault(proto_file.package, proto_file.name)
    for package in sorted(first_file):
        name = first_file[package]
        directory = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        node = top
        for part in package.split("."):
            child = next((c for c in node.children if c.name == rust_ident(part)), None)
            if child is None:
                child = RustModule(rust_ident(part))
                node.children.append(child)
            node = child
        node.include = f"{directory}{package}.rs"
    return top.children


def _rust_topic(registry: Registry, binding: TopicBinding) -> RustTopic:
    message = registry.messages[binding.message]
    path = "::".join(rust_ident(part) for part in message.package.split("."))
    message_type = f"crate::{path}::{rust_upper_camel(message.name)}"
    key_field = message.field_named(binding.key) if binding.key else None
    return RustTopic(
        constant=topic_constant(binding.name),
        message_type=message_type,
        key_expression=_key_expression(key_field) if key_field else "",
        literals=_literals(binding),
        doc=" ".join(message.comment.split()),
    )


def _key_expression(key_field: Field) -> str:
    template = "key::int(i64::from(m.{field}))" if key_field.kind == "enum" else _KEY_HELPERS[key_field.type_name]
    return template.format(field=rust_ident(key_field.name))


def _rust_str(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _option(value: object) -> str:
    return "None" if value is None else f"Some({value})"


def _literals(binding: TopicBinding) -> dict[str, str]:
    return {
        "name": _rust_str(binding.name),
        "type_name": _rust_str(binding.message),
        "partitions": _option(binding.partitions),
        "replication_factor": _option(binding.replication_factor),
        "retention_ms": _option(binding.retention_ms),
        "cleanup_policy": _option(_rust_str(binding.cleanup_policy) if binding.cleanup_policy else None),
        "owner": _rust_str(binding.owner),
        "producers": "&[" + ", ".join(_rust_str(p) for p in binding.producers) + "]",
        "consumers": "&[" + ", ".join(_rust_str(c) for c in binding.consumers) + "]",
        "compatibility": _rust_str(binding.compatibility),
    }
