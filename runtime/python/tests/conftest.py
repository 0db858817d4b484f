"""Fixtures of the runtime tests: a tiny compiled test contract and topics on the real broker.

The broker itself comes from the repository's conftest.py (`kafka_bootstrap`).
"""

from __future__ import annotations

import importlib
import shutil
import sys
import types
import uuid
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest
from confluent_kafka.admin import AdminClient
from google.protobuf import descriptor_pool
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


# A contract with field rules (docs/runtime.md, "Field rules"): one of each kind the runtimes must
# agree on. Compiled with the repository's vendored buf/validate/validate.proto.
VALIDATED_PROTO = """
syntax = "proto3";
package crt_test.v1;

import "buf/validate/validate.proto";

enum Plan {
  PLAN_UNSPECIFIED = 0;
  PLAN_FREE = 1;
  PLAN_PAID = 2;
}

message Signup {
  option (buf.validate.message).cel = {
    id: "signup.window"
    message: "ends_at must come after starts_at"
    expression: "this.ends_at == 0 || this.ends_at > this.starts_at"
  };
  string account_id = 1 [(buf.validate.field).string.min_len = 1];
  string email = 2 [(buf.validate.field).string.email = true];
  Plan plan = 3 [(buf.validate.field).enum = {defined_only: true, not_in: [0]}];
  int64 starts_at = 4;
  int64 ends_at = 5;
  repeated Seat seats = 6;
  map<string, Seat> seats_by_name = 7;
}

message Seat {
  int32 quantity = 1 [(buf.validate.field).int32.gt = 0];
}

// No rules of its own, but it holds a message that has some.
message SignupBatch {
  repeated Signup signups = 1;
}
"""
VALIDATE_PROTO = Path(__file__).resolve().parents[3] / "third_party" / "buf" / "validate" / "validate.proto"


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
def validated_pb(proto_dir: Path) -> ModuleType:
    """The test contract with field rules (Signup, Seat, SignupBatch, Plan), beside `buf.validate.validate_pb2`."""
    vendored = proto_dir / "buf" / "validate" / "validate.proto"
    vendored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(VALIDATE_PROTO, vendored)
    source = proto_dir / "crt_test" / "v1" / "signup.proto"
    source.write_text(VALIDATED_PROTO)
    # One process holds one buf/validate/validate.proto in protobuf's default pool: when a generated
    # package already registered it (the repository's suite imports registry_contracts first),
    # compile only the test contract and let `buf.validate.validate_pb2` name that module.
    registered = _registered_validate_module()
    status = protoc.main(
        [
            "protoc",
            f"-I{proto_dir}",
            # descriptor.proto, duration.proto, ...: grpc_tools ships them, protoc.main does not add them.
            f"-I{resources.files('grpc_tools') / '_proto'}",
            f"--python_out={proto_dir}",
            *([] if registered else [str(vendored.relative_to(proto_dir))]),
            str(source.relative_to(proto_dir)),
        ]
    )
    if registered:
        sys.modules.setdefault("buf", types.ModuleType("buf"))
        sys.modules.setdefault("buf.validate", types.ModuleType("buf.validate"))
        sys.modules["buf.validate.validate_pb2"] = registered
        sys.modules["buf.validate"].validate_pb2 = registered  # type: ignore[attr-defined]
    assert status == 0, "protoc failed on the validated test contract"
    if str(proto_dir) not in sys.path:
        sys.path.insert(0, str(proto_dir))
    return importlib.import_module("crt_test.v1.signup_pb2")


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


def _registered_validate_module() -> ModuleType | None:
    """The already imported module that put buf/validate/validate.proto in the default pool, if any."""
    try:
        descriptor_pool.Default().FindFileByName("buf/validate/validate.proto")
    except KeyError:
        return None
    for module in list(sys.modules.values()):
        if module is not None and module.__name__.endswith("buf.validate.validate_pb2"):
            return module
    return None
