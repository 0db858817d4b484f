"""Go: protoc-gen-go output in one module, plus generic topic bindings in package `topics`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts_cli.config import VENDORED_GO_PACKAGE, Settings
from contracts_cli.errors import ContractsError
from contracts_cli.generate import vendor
from contracts_cli.generate.files import GeneratedFiles
from contracts_cli.generate.names import go_camel_case, go_package_name, topic_go_name
from contracts_cli.generate.templates import render
from contracts_cli.generate.tools import PROTOC_GEN_GO
from contracts_cli.model import Field, Registry, TopicBinding
from contracts_cli.toolchain import GO_DIRECTIVE, PROTOBUF_GO_VERSION

NAME = "go"
PROTOBUF_GO_MODULE = "google.golang.org/protobuf"
# protovalidate's rules as Buf publishes them for Go (validate.proto's go_package is in this module):
# the contracts' .pb.go files import it, and buf.build/go/protovalidate reads the rules through it, so
# the generated module must not register a second copy of buf/validate/validate.proto.
PROTOVALIDATE_GO_MODULE = "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go"
# The topic option's `validation` -> the runtime's ValidationMode constant.
_VALIDATION_MODES = {"reject": "ValidationReject", "dlq": "ValidationDLQ", "off": "ValidationOff"}

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


@dataclass(frozen=True)
class GoRequirement:
    path: str
    version: str
    indirect: bool


def render_package(registry: Registry, settings: Settings, files: GeneratedFiles) -> None:
    _drop_vendored(registry, files)
    topics, imports = _go_topics(registry, settings)
    files[f"{NAME}/topics/topics.go"] = render("go/topics.go.j2", topics=topics, imports=imports).encode()
    runtime = vendor.runtime_sources("go")
    if settings.go.vendors_runtime:
        _vendor_runtime(files, runtime)
    go_directive, runtime_requirements = _parse_go_mod(_runtime_file("go.mod"))
    requirements = _requirements(settings, runtime_requirements, registry.uses_field_rules)
    files[f"{NAME}/go.mod"] = render(
        "go/go.mod.j2",
        go=settings.go,
        go_directive=max(GO_DIRECTIVE, go_directive, key=_version_key),
        direct=[r for r in requirements if not r.indirect],
        indirect=[r for r in requirements if r.indirect],
    ).encode()
    files[f"{NAME}/go.sum"] = _go_sum(render("go/go.sum"), _runtime_file("go.sum"))


def _drop_vendored(registry: Registry, files: GeneratedFiles) -> None:
    """protoc-gen-go wrote protovalidate's own validate.pb.go (a target of the image): its package is
    imported from PROTOVALIDATE_GO_MODULE instead."""
    for proto_file in registry.files.values():
        if proto_file.vendored:
            files.pop(f"{NAME}/{proto_file.name.removesuffix('.proto')}.pb.go", None)


def _runtime_file(name: str) -> str:
    return (vendor.go_runtime_dir() / name).read_text(encoding="utf-8")


def _vendor_runtime(files: GeneratedFiles, runtime: dict[str, bytes]) -> None:
    """The runtime's package as `<module>/contracts`: Go ignores `replace` in dependencies, so a
    consumer can only build a runtime that lives inside the module it requires."""
    package_dir = f"{NAME}/{VENDORED_GO_PACKAGE}"
    clashing = sorted(name for name in files if name.rsplit("/", 1)[0] == package_dir)
    if clashing:
        raise ContractsError(
            f"generated Go file {clashing[0]} is in {VENDORED_GO_PACKAGE}/, where the vendored runtime goes: "
            f"move its .proto out of the top-level {VENDORED_GO_PACKAGE}/ directory"
        )
    for relative, content in runtime.items():
        if relative.endswith(".go"):
            files[f"{package_dir}/{relative}"] = content
    files[f"{package_dir}/VENDORED.md"] = vendor.vendored_note("Go")


def _parse_go_mod(text: str) -> tuple[str, list[GoRequirement]]:
    """The `go` directive and the requirements of a go.mod (block and single-line forms)."""
    directive = "1.21"
    requirements: list[GoRequirement] = []
    in_block = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("go "):
            directive = line.split()[1]
        elif line.startswith("require ("):
            in_block = True
        elif in_block and line == ")":
            in_block = False
        elif in_block or line.startswith("require "):
            spec = line.removeprefix("require ").strip()
            parts = spec.split("//", 1)[0].split()
            if len(parts) == 2:
                indirect = len(spec.split("//", 1)) == 2 and "indirect" in spec.split("//", 1)[1]
                requirements.append(GoRequirement(parts[0], parts[1], indirect))
    return directive, requirements


def _requirements(
    settings: Settings, runtime_requirements: list[GoRequirement], field_rules: bool = False
) -> list[GoRequirement]:
    """The generated module's requirements, as `go mod tidy` would list them.

    Vendored, the runtime's own requirements are the module's (same direct/indirect split); with a
    local runtime module, its requirements are all indirect. Either way protobuf is direct, at the
    newer of the runtime's version and protoc-gen-go's, and so is protovalidate's Go package when a
    contract carries field rules (its .pb.go imports it), at the runtime's version."""
    by_path: dict[str, GoRequirement] = {}
    for requirement in runtime_requirements:
        indirect = requirement.indirect or not settings.go.vendors_runtime
        by_path[requirement.path] = GoRequirement(requirement.path, requirement.version, indirect)
    protobuf = by_path.get(PROTOBUF_GO_MODULE)
    protobuf_version = max(PROTOBUF_GO_VERSION, protobuf.version if protobuf else "", key=_version_key)
    by_path[PROTOBUF_GO_MODULE] = GoRequirement(PROTOBUF_GO_MODULE, protobuf_version, False)
    rules_module = by_path.get(PROTOVALIDATE_GO_MODULE)
    if field_rules:
        if rules_module is None:
            raise ContractsError(
                f"the contracts carry field rules, but the Go runtime does not require {PROTOVALIDATE_GO_MODULE}: "
                "upgrade the contracts CLI"
            )
        by_path[PROTOVALIDATE_GO_MODULE] = GoRequirement(PROTOVALIDATE_GO_MODULE, rules_module.version, False)
    if not settings.go.vendors_runtime:
        runtime_module = settings.go.runtime_module
        by_path[runtime_module] = GoRequirement(runtime_module, settings.go.runtime_version, False)
    return sorted(by_path.values(), key=lambda r: (r.indirect, r.path))


def _version_key(version: str) -> tuple[int, ...]:
    """Orders go directives (1.26.0) and release versions (v1.36.12); pre-release parts are ignored."""
    numbers = version.removeprefix("v").split("-", 1)[0].split(".")
    return tuple(int(number) if number.isdigit() else 0 for number in numbers)


def _go_sum(*sums: str) -> bytes:
    """Every checksum the runtime's module graph needs plus protobuf's: sorted and unique, as go writes them."""
    lines = sorted({line for text in sums for line in text.splitlines() if line.strip()})
    return ("\n".join(lines) + "\n").encode()


def _go_topics(registry: Registry, settings: Settings) -> tuple[list[GoTopic], list[GoImport]]:
    runtime_import = settings.go.runtime_import
    imports: dict[str, GoImport] = {runtime_import: GoImport("contracts", runtime_import)}
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
        "validation": f"contracts.{_VALIDATION_MODES[binding.validation]}",
    }
