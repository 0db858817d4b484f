"""Rust: prost output in one crate (a module per proto package), plus typed topic constants."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from contracts_cli.config import Settings
from contracts_cli.generate import vendor
from contracts_cli.generate.files import GeneratedFiles
from contracts_cli.generate.names import RUST_KEYWORDS, rust_ident, rust_upper_camel, topic_constant
from contracts_cli.generate.templates import render
from contracts_cli.generate.tools import PROTOC_GEN_PROST
from contracts_cli.model import Field, Registry, TopicBinding
from contracts_cli.toolchain import PROST_VERSION

NAME = "rust"
# The vendored runtime crate, a path dependency inside generated/rust (left out of the outer package).
VENDORED_CRATE_DIR = "contracts-runtime"
# protovalidate's own types, which the runtime's `validate` feature brings (prost-protovalidate).
PROTOVALIDATE_EXTERN = "extern_path=.buf.validate=::prost_protovalidate::types"
# The topic option's `validation` -> the runtime's Validation variant.
_VALIDATION_MODES = {"reject": "Reject", "dlq": "Dlq", "off": "Off"}

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
    # The FILE_DESCRIPTOR_SET constants of the packages that define the message and what it imports,
    # where the runtime reads the field rules from (feature `validate`).
    descriptor_sets: tuple[str, ...] = ()


def plugins(registry: Registry, settings: Settings) -> list[dict[str, Any]]:
    # BTreeMap keeps map fields in key order, so encodings match Go's and Python's deterministic output.
    # file_descriptor_set: each package's FILE_DESCRIPTOR_SET, for the runtime's field rules.
    # strategy all: prost writes one file per proto package, whichever directories its files are in.
    options = ["btree_map=.", "file_descriptor_set", PROTOVALIDATE_EXTERN]
    return [{"local": str(PROTOC_GEN_PROST.ensure()), "out": f"{NAME}/src", "opt": options, "strategy": "all"}]


def render_package(registry: Registry, settings: Settings, files: GeneratedFiles) -> None:
    _drop_vendored(registry, files)
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
    # Children by name, beside each node's ordered list: a registry has thousands of top-level packages.
    index: dict[tuple[int, str], RustModule] = {}
    for package in sorted({proto_file.package for proto_file in registry.local_files()}):
        node = top
        for part in _prost_module_path(package):
            child = index.get((id(node), part))
            if child is None:
                child = index[(id(node), part)] = RustModule(part)
                node.children.append(child)
            node = child
        node.include = _prost_output(package)
    return top.children


# Keywords that cannot be raw identifiers: prost appends an underscore to them instead.
_NOT_RAW = frozenset({"self", "super", "Self", "extern", "crate"})


def _prost_module_path(package: str) -> list[str]:
    """The modules prost nests a package's types in (`google.type` -> `google`, `r#type`); its
    generated code names other packages by these, so lib.rs must declare the same ones."""
    parts = []
    for part in package.split("."):
        if part in _NOT_RAW:
            parts.append(f"{part}_")
        else:
            parts.append(f"r#{part}" if part in RUST_KEYWORDS else part)
    return parts


def _prost_output(package: str) -> str:
    """Where protoc-gen-prost writes a package (below its out dir): its module path as directories,
    whatever directory the package's files are in, then the package name (`google/r#type/google.type.rs`)."""
    return "/".join([*_prost_module_path(package), f"{package}.rs"])


def _drop_vendored(registry: Registry, files: GeneratedFiles) -> None:
    """prost wrote a module for protovalidate's package (a target of the image): the runtime's
    prost-protovalidate has those types, and extern_path points references there."""
    for package in {f.package for f in registry.files.values() if f.vendored}:
        for name in [name for name in files if name.startswith(f"{NAME}/src/") and name.endswith(f"/{package}.rs")]:
            del files[name]
        files.pop(f"{NAME}/src/{package}.rs", None)


def _descriptor_sets(registry: Registry, message_file: str) -> tuple[str, ...]:
    """`crate::<package>::FILE_DESCRIPTOR_SET` for the message's package and every package it imports,
    transitively, except protovalidate's and the well-known types (the runtime brings those)."""
    packages: set[str] = set()
    pending, seen = [message_file], set()
    while pending:
        name = pending.pop()
        proto_file = registry.files.get(name)
        # Looked up per file, not by a map of every local file built per topic: that was quadratic.
        if name in seen or proto_file is None or proto_file.vendored or name.startswith("google/protobuf/"):
            continue
        seen.add(name)
        packages.add(proto_file.package)
        pending.extend(proto_file.dependencies)
    return tuple(
        "crate::" + "::".join(rust_ident(part) for part in package.split(".")) + "::FILE_DESCRIPTOR_SET"
        for package in sorted(packages)
    )


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
        descriptor_sets=_descriptor_sets(registry, message.file),
    )


def _key_expression(key_field: Field) -> str:
    if key_field.explicit_presence:
        return _presence_key_expression(key_field)
    template = "key::int(i64::from(m.{field}))" if key_field.kind == "enum" else _KEY_HELPERS[key_field.type_name]
    return template.format(field=rust_ident(key_field.name))


def _presence_key_expression(key_field: Field) -> str:
    """A field with presence is an `Option` in prost; its accessor method gives the value or the
    default, as the other languages' getters do (the TOPIC_KEY_PRESENCE rule refuses such keys today)."""
    accessor = f"m.{rust_ident(key_field.name)}()"
    if key_field.kind == "enum":
        return f"key::int(i64::from({accessor} as i32))"  # the accessor returns the enum, not its i32
    if key_field.type_name in ("string", "bytes"):
        template = _KEY_HELPERS[key_field.type_name].replace("&m.{field}", "{field}")
    else:
        template = _KEY_HELPERS[key_field.type_name].replace("m.{field}", "{field}")
    return template.format(field=accessor)


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
        "validation": f"Validation::{_VALIDATION_MODES[binding.validation]}",
    }
