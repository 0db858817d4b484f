"""Pinned versions of the code generators and the Kafka broker, in one place.

Python packages are pinned in pyproject.toml; Go and Rust libraries in the
runtime's go.mod / Cargo.toml and in templates/go, templates/rust.
"""

from __future__ import annotations

PROTOC_GEN_GO_VERSION = "v1.36.12"
PROTOC_GEN_PROST_VERSION = "0.5.0"
PROST_VERSION = "0.14.6"
PROTOBUF_GO_VERSION = "v1.36.12"
GO_DIRECTIVE = "1.26.0"
KAFKA_VERSION = "4.4.0"
