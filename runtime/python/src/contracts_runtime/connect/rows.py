"""Messages as PostgreSQL rows: one column per field (types below), or a `jsonb` payload column.

| protobuf field | column type |
|---|---|
| string | text |
| bool | boolean |
| int32, sint32, sfixed32 | integer |
| int64, sint64, sfixed64, uint32, fixed32 | bigint |
| uint64, fixed64 | numeric(20) |
| float / double | real / double precision |
| bytes | bytea |
| enum | text (the value's name) |
| google.protobuf.Timestamp | timestamptz |
| other messages, repeated fields, maps | jsonb (the protobuf JSON mapping) |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from psycopg import sql
from psycopg.types.json import Jsonb

from contracts_runtime.connect.errors import ConnectConfigError

PAYLOAD_COLUMN: Final = "payload"
T = FieldDescriptor
_SCALAR_TYPES: Final[dict[int, str]] = {
    T.TYPE_STRING: "text",
    T.TYPE_BOOL: "boolean",
    T.TYPE_INT32: "integer",
    T.TYPE_SINT32: "integer",
    T.TYPE_SFIXED32: "integer",
    T.TYPE_INT64: "bigint",
    T.TYPE_SINT64: "bigint",
    T.TYPE_SFIXED64: "bigint",
    T.TYPE_UINT32: "bigint",
    T.TYPE_FIXED32: "bigint",
    T.TYPE_UINT64: "numeric(20)",
    T.TYPE_FIXED64: "numeric(20)",
    T.TYPE_FLOAT: "real",
    T.TYPE_DOUBLE: "double precision",
    T.TYPE_BYTES: "bytea",
    T.TYPE_ENUM: "text",
}
# information_schema's data_type for each column type above (what an existing table must have).
_DATA_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "text": ("text", "character varying", "character"),
    "boolean": ("boolean",),
    "integer": ("integer", "bigint", "numeric"),
    "bigint": ("bigint", "numeric"),
    "numeric(20)": ("numeric",),
    "real": ("real", "double precision"),
    "double precision": ("double precision",),
    "bytea": ("bytea",),
    "timestamptz": ("timestamp with time zone",),
    "jsonb": ("jsonb", "json"),
}

Getter = Callable[[Any], object]


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)


def column_type(field: Any) -> str:
    if _repeated(field):
        return "jsonb"
    if field.type == T.TYPE_MESSAGE:
        return "timestamptz" if field.message_type.full_name == "google.protobuf.Timestamp" else "jsonb"
    return _SCALAR_TYPES[field.type]


def getter(field: Any) -> Getter:
    """How to read the column value of `field` from a message (None for an unset message field)."""
    name = field.name
    if _repeated(field):
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.type == T.TYPE_MESSAGE:
                return lambda message: Jsonb(
                    {str(k): json_format.MessageToDict(v) for k, v in getattr(message, name).items()}
                )
            return lambda message: Jsonb({str(k): v for k, v in getattr(message, name).items()})
        if field.type == T.TYPE_MESSAGE:
            return lambda message: Jsonb([json_format.MessageToDict(item) for item in getattr(message, name)])
        if field.type == T.TYPE_ENUM:
            enum = field.enum_type
            return lambda message: Jsonb([_enum_name(enum, value) for value in getattr(message, name)])
        if field.type == T.TYPE_BYTES:
            return lambda message: Jsonb([value.hex() for value in getattr(message, name)])
        return lambda message: Jsonb(list(getattr(message, name)))
    if field.type == T.TYPE_MESSAGE:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return lambda message: _timestamp(getattr(message, name)) if message.HasField(name) else None
        return lambda message: json_format.MessageToDict(getattr(message, name)) if message.HasField(name) else None
    if field.type == T.TYPE_ENUM:
        enum = field.enum_type
        return lambda message: _enum_name(enum, getattr(message, name))
    return attrgetter(name)  # a C call, no Python frame: most columns are plain scalars


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _timestamp(timestamp: Any) -> datetime:
    """Timestamp.ToDatetime(tzinfo=UTC) at half its cost (positional timedelta, no astimezone)."""
    nanos = timestamp.nanos
    if not 0 <= nanos < 1_000_000_000:
        raise ValueError(f"Timestamp is not valid: nanos {nanos} must be in [0, 999999999]")
    return _EPOCH + timedelta(0, timestamp.seconds, nanos // 1000)  # OverflowError past year 9999


def _enum_name(enum: Any, number: int) -> str:
    value = enum.values_by_number.get(number)
    return str(number) if value is None else str(value.name)


def payload(message: Message) -> Jsonb:
    return Jsonb(json_format.MessageToDict(message))


def _message_columns(descriptor: Descriptor) -> list[FieldDescriptor]:
    return list(descriptor.fields)


def ddl(table: str, message_type: type, key: Sequence[str]) -> str:
    """The CREATE TABLE the postgres writer expects for `message_type` (columns mode)."""
    descriptor: Descriptor = message_type.DESCRIPTOR  # type: ignore[attr-defined]
    lines = []
    for field in _message_columns(descriptor):
        not_null = " NOT NULL" if field.name in key else ""
        lines.append(f"  {field.name} {column_type(field)}{not_null}")
    if key:
        lines.append(f"  PRIMARY KEY ({', '.join(key)})")
    return (
        f"-- {descriptor.full_name}: one column per field (or: {', '.join(key) or 'id'} + {PAYLOAD_COLUMN} jsonb)\n"
        f"CREATE TABLE {table} (\n" + ",\n".join(lines) + "\n);"
    )


def offsets_ddl(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n"
        "  connector text NOT NULL,\n"
        "  topic text NOT NULL,\n"
        "  partition integer NOT NULL,\n"
        "  next_offset bigint NOT NULL,  -- -2: from the beginning (nothing written yet)\n"
        "  updated_at timestamptz NOT NULL DEFAULT now(),\n"
        "  PRIMARY KEY (connector, topic, partition)\n"
        ");"
    )


@dataclass(frozen=True, slots=True)
class RowMapping:
    """Which columns are written and how: built once at start-up from the table's real columns."""

    table: str
    columns: tuple[str, ...]
    getters: tuple[Getter, ...]
    key: tuple[str, ...]
    statement: sql.Composed

    def row(self, message: Message) -> tuple[object, ...]:
        return tuple([get(message) for get in self.getters])  # a list display beats a generator here


def split_table(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema or "public", name


def table_identifier(table: str) -> sql.Identifier:
    schema, name = split_table(table)
    return sql.Identifier(schema, name)


def mapping(
    table: str,
    message_type: type,
    table_columns: dict[str, str],
    unique_keys: list[tuple[str, ...]],
    key: Sequence[str],
) -> RowMapping:
    """Match the message's fields to the table's columns; raises ConnectConfigError with what to fix."""
    descriptor: Descriptor = message_type.DESCRIPTOR  # type: ignore[attr-defined]
    fields = {field.name: field for field in _message_columns(descriptor)}
    hint = f"(contracts-connect --print-ddl shows the table it expects for {descriptor.full_name})"
    if not table_columns:
        raise ConnectConfigError(f"CONNECT_WRITER=postgres:{table}: the table does not exist {hint}")
    for column in key:
        if column not in table_columns:
            raise ConnectConfigError(f"postgres:{table}: the upsert key column {column!r} is not in the table {hint}")
    if tuple(sorted(key)) not in [tuple(sorted(unique)) for unique in unique_keys]:
        raise ConnectConfigError(
            f"postgres:{table}: ({', '.join(key)}) is not the table's primary key or a unique constraint, "
            f"which an upsert needs {hint}"
        )
    use_payload = table_columns.get(PAYLOAD_COLUMN) in ("jsonb", "json") and PAYLOAD_COLUMN not in fields
    columns: list[str] = []
    getters: list[Getter] = []
    for name, field in fields.items():
        data_type = table_columns.get(name)
        if data_type is None:
            continue
        expected = column_type(field)
        if data_type not in _DATA_TYPES[expected]:
            raise ConnectConfigError(
                f"postgres:{table}: column {name} is {data_type}, but field {descriptor.full_name}.{name} "
                f"needs {expected} {hint}"
            )
        columns.append(name)
        getters.append(getter(field))
    if use_payload:
        columns.append(PAYLOAD_COLUMN)
        getters.append(payload)
    if not set(columns) - set(key):
        raise ConnectConfigError(
            f"postgres:{table}: no column matches a field of {descriptor.full_name} besides the key, "
            f"and there is no {PAYLOAD_COLUMN} jsonb column {hint}"
        )
    return RowMapping(table, tuple(columns), tuple(getters), tuple(key), _upsert(table, columns, key))


def _upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> sql.Composed:
    updates = [column for column in columns if column not in key]
    return sql.SQL("INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {set}").format(
        table=table_identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() for _ in columns),
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        set=sql.SQL(", ").join(
            sql.SQL("{column} = EXCLUDED.{column}").format(column=sql.Identifier(column)) for column in updates
        ),
    )


def now() -> datetime:
    return datetime.now(UTC)
