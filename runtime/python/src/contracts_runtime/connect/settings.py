"""A connector's configuration, read once from the environment and checked in one place."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from contracts_runtime.connect.errors import ConnectConfigError

DEFAULT_BATCH_MAX: Final = 500
DEFAULT_BATCH_WAIT_MS: Final = 100
DEFAULT_CONTRACTS: Final = "registry_contracts.topics"
DEFAULT_OFFSETS_TABLE: Final = "contracts_connect_offsets"
_NAME: Final = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_READER_KINDS: Final = ("kafka", "outbox")
_WRITER_KINDS: Final = ("postgres", "kafka", "http", "stdout")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """`kind:target` as written in CONNECT_READER / CONNECT_WRITER."""

    kind: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.target.split(",") if name.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    name: str
    reader: Endpoint
    writer: Endpoint
    transforms: tuple[str, ...]
    contracts: tuple[str, ...]
    postgres_dsn: str | None
    postgres_key: tuple[str, ...]
    offsets_table: str
    batch_max: int
    batch_wait: float
    http_port: int | None
    replica_id: str | None
    http_concurrency: int

    @property
    def uses_postgres(self) -> bool:
        return self.reader.kind == "outbox" or self.writer.kind == "postgres"


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; raises ConnectConfigError naming the variable at fault."""
    env = os.environ if environ is None else environ
    name = _required(env, "CONNECT_NAME")
    if not _NAME.match(name):
        raise ConnectConfigError(f"CONNECT_NAME {name!r} must be 1-200 characters of [A-Za-z0-9._-]")
    reader = _endpoint(env, "CONNECT_READER", _READER_KINDS)
    writer = _endpoint(env, "CONNECT_WRITER", _WRITER_KINDS)
    if reader.kind == "kafka" and not reader.topics:
        raise ConnectConfigError("CONNECT_READER=kafka: needs at least one topic, e.g. kafka:preferences.changed.v1")
    if writer.kind == "kafka" and len(writer.topics) != 1:
        raise ConnectConfigError(f"CONNECT_WRITER={writer}: name exactly one topic")
    if writer.kind == "http" and not writer.target.startswith(("http://", "https://")):
        raise ConnectConfigError(f"CONNECT_WRITER={writer}: expected http:http://host/path or http:https://...")
    if reader.kind == "outbox" and writer.kind != "kafka":
        raise ConnectConfigError(f"CONNECT_READER={reader} publishes to Kafka: set CONNECT_WRITER=kafka:<topic>")
    dsn = env.get("CONNECT_POSTGRES_DSN") or None
    return Settings(
        name=name,
        reader=reader,
        writer=writer,
        transforms=_list(env.get("CONNECT_TRANSFORMS", "")),
        contracts=_list(env.get("CONNECT_CONTRACTS", DEFAULT_CONTRACTS)),
        postgres_dsn=dsn,
        postgres_key=_list(env.get("CONNECT_POSTGRES_KEY", "")),
        offsets_table=env.get("CONNECT_OFFSETS_TABLE") or DEFAULT_OFFSETS_TABLE,
        batch_max=_integer(env, "CONNECT_BATCH_MAX", DEFAULT_BATCH_MAX, minimum=1),
        batch_wait=_integer(env, "CONNECT_BATCH_WAIT_MS", DEFAULT_BATCH_WAIT_MS, minimum=0) / 1000,
        http_port=_optional_port(env),
        replica_id=env.get("CONNECT_REPLICA_ID") or None,
        http_concurrency=_integer(env, "CONNECT_HTTP_CONCURRENCY", 8, minimum=1),
    )


def _required(env: Mapping[str, str], variable: str) -> str:
    value = env.get(variable, "").strip()
    if not value:
        raise ConnectConfigError(f"{variable} is not set (see README.md, section Connectors)")
    return value


def _endpoint(env: Mapping[str, str], variable: str, kinds: tuple[str, ...]) -> Endpoint:
    value = _required(env, variable)
    kind, _, target = value.partition(":")
    if kind not in kinds:
        raise ConnectConfigError(f"{variable}={value}: the kind must be one of {', '.join(kinds)}")
    if kind != "stdout" and not target:
        raise ConnectConfigError(f"{variable}={value}: {kind}: needs a target after the colon")
    return Endpoint(kind, target.strip())


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _integer(env: Mapping[str, str], variable: str, default: int, *, minimum: int) -> int:
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConnectConfigError(f"{variable}={raw}: not an integer") from None
    if value < minimum:
        raise ConnectConfigError(f"{variable}={raw}: must be at least {minimum}")
    return value


def _optional_port(env: Mapping[str, str]) -> int | None:
    if not env.get("CONNECT_HTTP_PORT", "").strip():
        return None
    port = _integer(env, "CONNECT_HTTP_PORT", 0, minimum=0)
    if port > 65535:
        raise ConnectConfigError(f"CONNECT_HTTP_PORT={port}: not a port")
    return port
