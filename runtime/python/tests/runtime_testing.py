"""Helpers of the runtime tests: test messages, topic creation, reading topics with a plain client."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import Message, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from contracts_runtime import Topic


def make_order(pb: ModuleType, number: int) -> Any:
    return pb.Order(
        order_id=f"order-{number}",
        amount=1000 + number,
        paid=number % 2 == 0,
        color=pb.COLOR_GREEN,
        blob=b"\x00\x01" * 3,
        sequence=2**63 + number,
        delta=-number,
        tags=["a", f"t{number}"],
        price=9.5,
        line=pb.Line(sku=f"sku-{number}", quantity=number),
    )


@dataclass
class Topics:
    """Creates uniquely named topics (each with its `.dlq`) and bindings to them."""

    admin: AdminClient
    pb: ModuleType

    def create(self, *names: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
        futures = self.admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {}) for name in names],
            operation_timeout=10,
        )
        for future in futures.values():
            future.result(timeout=15)
        self.wait_for_metadata(names)

    def wait_for_metadata(self, names: tuple[str, ...]) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            metadata = self.admin.list_topics(timeout=5)
            if all(name in metadata.topics and metadata.topics[name].error is None for name in names):
                return
            time.sleep(0.05)
        raise AssertionError(f"topics {names} did not appear")

    def orders(
        self, partitions: int = 1, *, config: dict[str, str] | None = None, dlq_config: dict[str, str] | None = None
    ) -> Topic[Any]:
        """A fresh `orders` topic + dlq, bound to Order keyed by order_id."""
        name = f"orders.{uuid.uuid4().hex[:12]}"
        self.create(name, partitions=partitions, config=config)
        self.create(name + ".dlq", config=dlq_config)
        return Topic(name=name, message_type=self.pb.Order, key_field="order_id", type_name="crt_test.v1.Order")

    def refunds_on(self, name: str) -> Topic[Any]:
        """Refund bound to an existing topic name: writes records of the wrong type there."""
        return Topic(name=name, message_type=self.pb.Refund, key_field="refund_id")


def read_topic(bootstrap: str, name: str, count: int, timeout: float = 15.0) -> list[Message]:
    """The first `count` records of topic `name` (all partitions), read with a plain client."""
    reader = KafkaConsumer(
        {"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False}
    )
    try:
        metadata = reader.list_topics(name, timeout=10)
        partitions = [TopicPartition(name, p, 0) for p in metadata.topics[name].partitions]
        reader.assign(partitions)
        records: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            message = reader.poll(0.2)
            if message is not None and message.error() is None:
                records.append(message)
        return records
    finally:
        reader.close()


def headers_of(message: Message) -> dict[str, bytes]:
    pairs = cast(list[tuple[str, bytes | None]], message.headers() or [])
    return {name: value for name, value in pairs if value is not None}


def uncommitted(bootstrap: str, group_id: str, name: str) -> int:
    """How many records of topic `name` lie past the group's committed offsets."""
    reader = KafkaConsumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False})
    try:
        metadata = reader.list_topics(name, timeout=10)
        partitions = [TopicPartition(name, p) for p in metadata.topics[name].partitions]
        behind = 0
        for partition in reader.committed(partitions, timeout=10):
            low, high = reader.get_watermark_offsets(partition, timeout=10)
            behind += high - (partition.offset if partition.offset >= 0 else low)
        return behind
    finally:
        reader.close()
