"""Fixtures of the runtime tests: a tiny compiled test contract and topics on the real broker.

The broker itself comes from the repository's conftest.py (`kafka_bootstrap`).
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from confluent_kafka.admin import AdminClient
from grpc_tools import protoc  # type: ignore[import-untyped]
from prometheus_client import CollectorRegistry

from runtime_testing import Topics

TEST_PROTO = """
syntax = "proto3";
package crt_test.v1;

enum Color {
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1;
  COLOR_GREEN = 2;
}

message Order {
  string order_id = 1;
  int64 amount = 2;
  bool paid = 3;
  Color color = 4;
  bytes blob = 5;
  uint64 sequence = 6;
  sint32 delta = 7;
  repeated string tags = 8;
  double price = 9;
  Line line = 10;
}

message Line {
  string sku = 1;
  int32 quantity = 2;
}

message Refund {
  string refund_id = 1;
  string order_id = 2;
}
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kafka: needs the real Kafka broker (kafka_bootstrap fixture)")


@pytest.fixture(scope="session")
def proto_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the compiled test contract, importable as `crt_test.v1.order_pb2`."""
    root = tmp_path_factory.mktemp("proto")
    source = root / "crt_test" / "v1" / "order.proto"
    source.parent.mkdir(parents=True)
    source.write_text(TEST_PROTO)
    status = protoc.main(
        ["protoc", f"-I{root}", f"--python_out={root}", f"--pyi_out={root}", str(source.relative_to(root))]
    )
    assert status == 0, "protoc failed on the test contract"
    return root


@pytest.fixture(scope="session")
def pb(proto_dir: Path) -> ModuleType:
    """The compiled test contract (Order, Line, Refund, Color)."""
    sys.path.insert(0, str(proto_dir))
    return importlib.import_module("crt_test.v1.order_pb2")


@pytest.fixture(scope="session")
def admin(kafka_bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def topics(admin: AdminClient, pb: ModuleType) -> Topics:
    return Topics(admin, pb)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def group() -> Callable[[], str]:
    return lambda: f"group-{uuid.uuid4().hex[:12]}"
