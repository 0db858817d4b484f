"""How to produce and consume one topic with the generated packages, in Python, Go and Rust.

The names come from the same conventions `contracts gen` uses (codegen/generate/names.py), and
the calls are the runtime libraries' own: `Producer().send` / `Consumer.subscribe` in Python,
`contracts.Send` / `contracts.Consume` in Go, `Producer::send` / `Consumer::run` in Rust.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts_cli.config import Settings
from contracts_cli.generate.go import go_import_path
from contracts_cli.generate.names import (
    PYTHON_KEYWORDS,
    go_camel_case,
    go_package_name,
    rust_ident,
    rust_upper_camel,
    topic_constant,
    topic_go_name,
)
from contracts_cli.generate.templates import render
from contracts_cli.model import Field, Message, Registry, TopicBinding, consumer_group

DEFAULT_GROUP = "my-service"
_INTEGERS = frozenset(
    {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"}
)


@dataclass(frozen=True)
class Snippet:
    language: str  # "python" | "go" | "rust"
    title: str
    code: str


@dataclass(frozen=True)
class SnippetNames:
    """Everything a snippet template prints, already in each language's conventions."""

    topic: str
    group: str  # the consumer group: the first consumer principal's name, as `contracts apply` grants it
    key_field: str
    # Python
    py_package: str
    py_module: str
    py_class: str
    py_constant: str
    py_key_argument: str  # `zone_id="zone-1"`, or "" when there is no key to set
    # Go
    go_imports: tuple[str, ...]  # import lines, sorted by path as gofmt keeps them
    go_type: str
    go_var: str
    go_key_assignment: str  # `ZoneId: "zone-1"`, or ""
    go_key_getter: str  # `GetZoneId()`, or ""
    # Rust
    rust_crate: str
    rust_type_path: str
    rust_type: str
    rust_constant: str
    rust_key_assignment: str  # `zone_id: "zone-1".into(),`, or ""
    rust_key_field: str


def topic_snippets(registry: Registry, settings: Settings, binding: TopicBinding) -> tuple[Snippet, ...]:
    names = snippet_names(registry, settings, binding)
    return tuple(
        Snippet(language, title, render(f"docs/snippets/{language}.j2", n=names).strip("\n") + "\n")
        for language, title in (("python", "Python"), ("go", "Go"), ("rust", "Rust"))
    )


def snippet_names(registry: Registry, settings: Settings, binding: TopicBinding) -> SnippetNames:
    message = registry.messages[binding.message]
    key = message.field_named(binding.key) if binding.key else None
    key = key if key is not None and _has_example(key) else None
    module_path = message.file.removesuffix(".proto").replace("/", ".").replace("-", "_") + "_pb2"
    go_alias = go_package_name(message.package)
    rust_crate = settings.rust.crate.replace("-", "_")
    rust_module = "::".join(rust_ident(part) for part in message.package.split("."))
    return SnippetNames(
        topic=binding.name,
        group=_group(binding),
        key_field=key.name if key else "",
        py_package=settings.python.package,
        py_module=f"{settings.python.package}.{module_path}",
        py_class=message.name,
        py_constant=topic_constant(binding.name),
        py_key_argument=f"{key.name}={_python_value(key)}" if key and key.name not in PYTHON_KEYWORDS else "",
        go_imports=_go_imports(settings, go_alias, go_import_path(settings, message.file)),
        go_type=f"{go_alias}.{go_camel_case(message.name)}",
        go_var=topic_go_name(binding.name),
        go_key_assignment=f"{go_camel_case(key.name)}: {_go_value(key)}" if key else "",
        go_key_getter=f"Get{go_camel_case(key.name)}()" if key else "",
        rust_crate=rust_crate,
        rust_type_path=f"{rust_crate}::{rust_module}::{_rust_type_name(message)}",
        rust_type=_rust_type_name(message),
        rust_constant=topic_constant(binding.name),
        rust_key_assignment=f"{rust_ident(key.name)}: {_rust_value(key)}," if key else "",
        rust_key_field=rust_ident(key.name) if key else "",
    )


def _go_imports(settings: Settings, message_alias: str, message_import: str) -> tuple[str, ...]:
    imports = {
        message_import: f'{message_alias} "{message_import}"',
        f"{settings.go.module}/topics": f'"{settings.go.module}/topics"',
        settings.go.runtime_import: f'contracts "{settings.go.runtime_import}"',
    }
    return tuple(imports[path] for path in sorted(imports))


def _group(binding: TopicBinding) -> str:
    if not binding.consumers:
        return DEFAULT_GROUP
    return consumer_group(binding.consumers[0])


def _has_example(field: Field) -> bool:
    """Keys we can write a literal for in all three languages (enum keys are left to the reader)."""
    return field.kind == "scalar" and not field.repeated and not field.is_map


def _python_value(field: Field) -> str:
    if field.type_name == "string":
        return f'"{field.name.replace("_", "-")}-1"'
    if field.type_name == "bytes":
        return f'b"{field.name}"'
    if field.type_name == "bool":
        return "True"
    return "1" if field.type_name in _INTEGERS else "0.5"


def _go_value(field: Field) -> str:
    if field.type_name == "string":
        return f'"{field.name.replace("_", "-")}-1"'
    if field.type_name == "bytes":
        return f'[]byte("{field.name}")'
    if field.type_name == "bool":
        return "true"
    return "1" if field.type_name in _INTEGERS else "0.5"


def _rust_value(field: Field) -> str:
    if field.type_name == "string":
        return f'"{field.name.replace("_", "-")}-1".into()'
    if field.type_name == "bytes":
        return f'b"{field.name}".to_vec()'
    if field.type_name == "bool":
        return "true"
    return "1" if field.type_name in _INTEGERS else "0.5"


def _rust_type_name(message: Message) -> str:
    return rust_upper_camel(message.name)
