"""A synthetic registry of N proto files (3 messages each, a third of them bound to topics).

Shared by the benchmark scripts so that every figure is measured on the same shape of registry.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_PACKAGES = 10


def write_registry(target: Path, files: int = 1000) -> Path:
    """Write buf.yaml, contracts.toml, the contracts option and `files` proto files under target."""
    proto = target / "proto"
    (proto / "contracts" / "v1").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "proto" / "contracts" / "v1" / "options.proto", proto / "contracts" / "v1")
    shutil.copy(ROOT / "buf.yaml", target / "buf.yaml")
    shutil.copytree(ROOT / "third_party", target / "third_party", dirs_exist_ok=True)  # buf.yaml's second module
    (target / "contracts.toml").write_text('[python]\npackage = "synthetic_contracts"\n', encoding="utf-8")
    for shared in range(SHARED_PACKAGES):
        _write(proto / f"shared{shared}" / "v1" / "types.proto", _shared_file(shared))
    for index in range(files - SHARED_PACKAGES):
        _write(proto / f"domain{index}" / "v1" / "events.proto", _domain_file(index))
    return target


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _shared_file(shared: int) -> str:
    return f"""syntax = "proto3";

package shared{shared}.v1;

// Money is an amount in one currency.
message Money{shared} {{
  // ISO 4217 code.
  string currency = 1;
  // Amount in minor units.
  int64 minor_units = 2;
}}

// Status{shared} is a lifecycle state.
enum Status{shared} {{
  // Not set.
  STATUS{shared}_UNSPECIFIED = 0;
  // Active.
  STATUS{shared}_ACTIVE = 1;
}}

// Address{shared} is a postal address.
message Address{shared} {{
  // Street and number.
  repeated string lines = 1;
  // Country code.
  string country = 2;
}}
"""


def _domain_file(index: int) -> str:
    shared = index % SHARED_PACKAGES
    bound = index % 3 == 0
    option = (
        f"""  option (contracts.v1.topic) = {{
    name: "domain{index}.created.v1"
    key: "id"
    partitions: 3
    retention: "7d"
    owner: "team-{index % 17}"
  }};

"""
        if bound
        else ""
    )
    return f"""syntax = "proto3";

package domain{index}.v1;

{'import "contracts/v1/options.proto";' + chr(10) if bound else ""}import "google/protobuf/timestamp.proto";
import "shared{shared}/v1/types.proto";

// Created{index} says that a thing was created.
message Created{index} {{
{option}  // Id of the thing.
  string id = 1;
  // When it happened.
  google.protobuf.Timestamp at = 2;
  // Price.
  shared{shared}.v1.Money{shared} price = 3;
  // State.
  shared{shared}.v1.Status{shared} status = 4;
  // Labels.
  map<string, string> labels = 5;
  // Detail.
  Detail{index} detail = 6;
}}

// Detail{index} holds details.
message Detail{index} {{
  // Address.
  shared{shared}.v1.Address{shared} address = 1;
  // Counter.
  uint64 count = 2;
  // Choice.
  oneof choice {{
    // Text.
    string text = 3;
    // Number.
    double number = 4;
  }}
}}

// Deleted{index} says that a thing was deleted.
message Deleted{index} {{
  // Id of the thing.
  string id = 1;
  // Soft or hard.
  bool soft = 2;
}}
"""
