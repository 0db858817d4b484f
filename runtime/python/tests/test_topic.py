"""Topic: binding, encode/decode, keys, type checks (runtime and mypy)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from contracts_runtime import ContractError, DecodeError, EncodedRecord, Topic, TopicSettings, WrongTypeError

from runtime_testing import make_order

ID_PATTERN = re.compile(rb"^[0-9a-f]{32}-[0-9]+$")
TIME_PATTERN = re.compile(rb"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def orders(pb: ModuleType) -> Topic[Any]:
    return Topic(
        name="orders.v1",
        message_type=pb.Order,
        key_field="order_id",
        settings=TopicSettings(partitions=3, owner="team-orders", producers=("svc-a",), compatibility="wire"),
        type_name="crt_test.v1.Order",
    )


def test_binding_attributes(orders: Topic[Any], pb: ModuleType) -> None:
    assert orders.name == "orders.v1"
    assert orders.message_type is pb.Order
    assert orders.type_name == "crt_test.v1.Order"
    assert orders.key_field == "order_id"
    assert orders.dlq_name == "orders.v1.dlq"
    assert orders.settings.partitions == 3
    assert orders.settings.replication_factor is None


def test_type_name_comes_from_the_descriptor(pb: ModuleType) -> None:
    assert Topic(name="t", message_type=pb.Refund).type_name == "crt_test.v1.Refund"


def test_type_name_that_contradicts_the_descriptor_is_refused(pb: ModuleType) -> None:
    with pytest.raises(ValueError, match="does not match"):
        Topic(name="t", message_type=pb.Refund, type_name="crt_test.v1.Order")


def test_unknown_key_field_is_refused(pb: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"not a field of crt_test\.v1\.Order"):
        Topic(name="t", message_type=pb.Order, key_field="orderid")


@pytest.mark.parametrize("field", ["tags", "line", "price"])
def test_field_that_cannot_be_a_key_is_refused(pb: ModuleType, field: str) -> None:
    with pytest.raises(ValueError, match="cannot be a key"):
        Topic(name="t", message_type=pb.Order, key_field=field)


def test_settings_refuse_unknown_compatibility() -> None:
    with pytest.raises(ValueError, match="compatibility"):
        TopicSettings(compatibility="full")


def test_encode_writes_value_key_and_cloudevents_headers(orders: Topic[Any], pb: ModuleType) -> None:
    order = make_order(pb, 7)
    record = orders.encode(order)
    assert isinstance(record, EncodedRecord)
    assert record.topic == "orders.v1"
    assert record.key == b"order-7"
    assert record.value == order.SerializeToString()
    names = [name for name, _ in record.headers]
    assert names == ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"]
    values = dict(record.headers)
    assert values["ce_specversion"] == b"1.0"
    assert ID_PATTERN.match(values["ce_id"])
    assert values["ce_source"] == b"contracts"
    assert values["ce_type"] == b"crt_test.v1.Order"
    assert TIME_PATTERN.match(values["ce_time"])
    assert values["content-type"] == b"application/protobuf"
    written = datetime.fromisoformat(values["ce_time"].decode())
    assert abs(written - datetime.now(UTC)) < timedelta(seconds=5)


def test_ce_ids_share_the_process_prefix_and_count_up(orders: Topic[Any], pb: ModuleType) -> None:
    ids = [dict(orders.encode(pb.Order()).headers)["ce_id"] for _ in range(3)]
    prefixes = {value.split(b"-")[0] for value in ids}
    counters = [int(value.split(b"-")[1]) for value in ids]
    assert len(prefixes) == 1
    assert counters == sorted(counters)
    assert len(set(ids)) == 3


def test_encode_takes_source_id_time_and_extra_headers(orders: Topic[Any], pb: ModuleType) -> None:
    moment = datetime(2026, 11, 25, 1, 48, 20, 123456, tzinfo=timezone(timedelta(hours=1)))
    record = orders.encode(
        pb.Order(order_id="x"), source="svc-a", event_id="evt-1", time=moment, headers=[("extra", b"1")]
    )
    values = dict(record.headers)
    assert values["ce_source"] == b"svc-a"
    assert values["ce_id"] == b"evt-1"
    assert values["ce_time"] == b"2026-11-25T00:48:20.123Z"
    assert record.headers[-1] == ("extra", b"1")


def test_encode_refuses_a_naive_time(orders: Topic[Any], pb: ModuleType) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        orders.encode(pb.Order(), time=datetime(2026, 1, 1))


def test_encode_refuses_another_message_type(orders: Topic[Any], pb: ModuleType) -> None:
    with pytest.raises(TypeError, match=r"orders.v1 carries crt_test.v1.Order \(Order\), not Refund"):
        orders.encode(pb.Refund(refund_id="r"))


def test_round_trip(orders: Topic[Any], pb: ModuleType) -> None:
    order = make_order(pb, 3)
    record = orders.encode(order)
    decoded = orders.decode(record.value, record.headers)
    assert decoded == order
    assert type(decoded) is pb.Order


def test_decode_accepts_str_header_values(orders: Topic[Any], pb: ModuleType) -> None:
    value = pb.Order(order_id="s").SerializeToString()
    assert orders.decode(value, [("ce_type", "crt_test.v1.Order")]).order_id == "s"


@pytest.mark.parametrize(
    ("headers", "actual"),
    [
        (None, None),
        ([], None),
        ([("ce_id", b"1")], None),
        ([("ce_type", None)], None),
        ([("ce_type", b"crt_test.v1.Refund")], "crt_test.v1.Refund"),
    ],
)
def test_decode_wrong_or_missing_type(
    orders: Topic[Any], pb: ModuleType, headers: list[tuple[str, bytes | None]] | None, actual: str | None
) -> None:
    with pytest.raises(WrongTypeError) as caught:
        orders.decode(pb.Order().SerializeToString(), headers)
    assert caught.value.expected == "crt_test.v1.Order"
    assert caught.value.actual == actual
    assert isinstance(caught.value, ContractError)


@pytest.mark.parametrize("value", [None, b"\xff\xff\xff", b"\x0a\x05ab"])
def test_decode_error(orders: Topic[Any], value: bytes | None) -> None:
    with pytest.raises(DecodeError) as caught:
        orders.decode(value, [("ce_type", b"crt_test.v1.Order")])
    assert isinstance(caught.value, ContractError)
    assert "crt_test.v1.Order" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("order_id", "zone-é", "zone-é".encode()),
        ("order_id", "", b""),
        ("amount", 42, b"42"),
        ("amount", -7, b"-7"),
        ("sequence", 2**64 - 1, b"18446744073709551615"),
        ("delta", -3, b"-3"),
        ("paid", True, b"true"),
        ("paid", False, b"false"),
        ("color", 2, b"2"),
        ("blob", b"\x00\xff", b"\x00\xff"),
    ],
)
def test_key_encodings(pb: ModuleType, field: str, value: object, key: bytes) -> None:
    topic = Topic(name="t", message_type=pb.Order, key_field=field)
    message = pb.Order(**{field: value})
    assert topic.key(message) == key
    assert topic.encode(message).key == key


def test_no_key_field_means_null_key(pb: ModuleType) -> None:
    topic = Topic(name="t", message_type=pb.Order)
    assert topic.key(pb.Order(order_id="x")) is None
    assert topic.encode(pb.Order(order_id="x")).key is None


def test_betterproto2_messages_bind_with_an_explicit_type_name() -> None:
    betterproto2 = pytest.importorskip("betterproto2")

    base: Any = betterproto2.Message

    @dataclass(eq=False, repr=False)
    class Shipment(base):  # type: ignore[misc]
        shipment_id: str = betterproto2.field(1, betterproto2.TYPE_STRING)
        weight: int = betterproto2.field(2, betterproto2.TYPE_INT32)
        fragile: bool = betterproto2.field(3, betterproto2.TYPE_BOOL)

    with pytest.raises(TypeError, match="type_name"):
        Topic(name="t", message_type=Shipment)
    with pytest.raises(ValueError, match="not a field"):
        Topic(name="t", message_type=Shipment, key_field="nope", type_name="x.v1.Shipment")
    topic = Topic(name="t", message_type=Shipment, key_field="fragile", type_name="x.v1.Shipment")
    record = topic.encode(Shipment(shipment_id="s-1", weight=3, fragile=True))
    assert record.key == b"true"
    assert dict(record.headers)["ce_type"] == b"x.v1.Shipment"
    assert topic.decode(record.value, record.headers) == Shipment(shipment_id="s-1", weight=3, fragile=True)
    by_weight = Topic(name="t", message_type=Shipment, key_field="weight", type_name="x.v1.Shipment")
    assert by_weight.key(Shipment(weight=-2)) == b"-2"


MYPY_SNIPPET = """
from contracts_runtime import Topic
from crt_test.v1.order_pb2 import Order, Refund

ORDERS: Topic[Order] = Topic(name="orders.v1", message_type=Order, key_field="order_id", type_name="crt_test.v1.Order")
ORDERS.encode(Order(order_id="1"))
ORDERS.encode(Refund(refund_id="1"))
reveal_type(ORDERS.decode(b"", None))
WRONG: Topic[Refund] = Topic(name="orders.v1", message_type=Order)
"""


def test_mypy_rejects_the_wrong_message_type(proto_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent(MYPY_SNIPPET))
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "contracts" / "mypy-runtime-tests"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(cache), str(snippet)],
        env={**os.environ, "MYPYPATH": str(proto_dir)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # Only the snippet's own lines: protoc's --pyi_out stubs are not --strict clean themselves.
    lines = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if "snippet.py:" in line]
    assert any('"encode" of "Topic" has incompatible type "Refund"' in line for line in lines), result.stdout
    assert any('Revealed type is "crt_test.v1.order_pb2.Order"' in line for line in lines), result.stdout
    assert sum(line.startswith("error:") for line in lines) == 2, result.stdout
