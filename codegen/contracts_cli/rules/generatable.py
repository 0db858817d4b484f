"""Rules for what buf compiles but the generated packages cannot hold: each names the file and line."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from contracts_cli.findings import Finding
from contracts_cli.model import Field, Location, Registry
from contracts_cli.rules.base import finding, rule


@rule(
    "FILE_SYNTAX_SUPPORTED",
    "Files are proto2 or proto3: prost, which generates the Rust package, cannot read editions (2023, 2024).",
)
def syntax_supported(registry: Registry) -> Iterator[Finding]:
    for proto_file in registry.local_files():
        if proto_file.syntax == "editions":
            yield finding(
                proto_file.syntax_location or Location(proto_file.path, 1, 1),
                "FILE_SYNTAX_SUPPORTED",
                f'{proto_file.name} is edition "{proto_file.edition}"; the Rust generator (prost) reads only '
                'proto2 and proto3: write it as syntax = "proto3" (or "proto2")',
            )


@rule("FILE_PACKAGE_REQUIRED", "Every file declares a package: generated code places its types by package.")
def package_required(registry: Registry) -> Iterator[Finding]:
    for proto_file in registry.local_files():
        if not proto_file.package and (proto_file.messages or proto_file.enums):
            yield finding(
                Location(proto_file.path, 1, 1),
                "FILE_PACKAGE_REQUIRED",
                f"{proto_file.name} has no package statement; its types would have no module in Rust "
                "and share the global scope elsewhere: add `package <name>.v1;`",
            )


@rule(
    "FIELD_JSON_NAME_COLLISION",
    "Fields of one message keep distinct JSON names (proto2 allows a clash; JSON and Rust's field names cannot).",
)
def json_name_collision(registry: Registry) -> Iterator[Finding]:
    local = {proto_file.name for proto_file in registry.local_files()}
    for message in registry.messages.values():
        if message.file not in local or message.is_map_entry:
            continue
        by_json: dict[str, list[Field]] = defaultdict(list)
        for one in message.fields:
            by_json[one.json_name].append(one)
        for fields in by_json.values():
            if len(fields) < 2:
                continue
            names = ", ".join(f'"{one.name}"' for one in fields)
            for one in fields[1:]:
                yield finding(
                    one.location,
                    "FIELD_JSON_NAME_COLLISION",
                    f"fields {names} of {message.full_name} share the JSON name {one.json_name!r} "
                    "(and one field name in Rust): rename one or give it another json_name",
                )
