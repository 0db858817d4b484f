"""Prints topic, ce_type and record key of one message per fixture topic (tests/golden).

The Go and Rust programs beside this one print the same lines: the generated bindings pick
the key field (string, int64, enum or none) the same way in every language.
"""

from contracts_runtime import EncodedRecord
from fixture_contracts.alerts.v1.alerts_pb2 import SEVERITY_CRITICAL, Alert, Heartbeat
from fixture_contracts.inventory.v1.inventory_pb2 import StockLevel
from fixture_contracts.orders.v1.orders_pb2 import OrderPlaced
from fixture_contracts.topics import ALERTS_HEARTBEATS_V1, ALERTS_RAISED_V1, INVENTORY_STOCK_V1, ORDERS_PLACED_V1


def show(record: EncodedRecord) -> None:
    ce_type = dict(record.headers)["ce_type"].decode()
    key = "-" if record.key is None else record.key.decode()
    print(f"{record.topic}\t{ce_type}\t{key}")


def main() -> None:
    show(ALERTS_HEARTBEATS_V1.encode(Heartbeat(monitor="m-1")))
    show(ALERTS_RAISED_V1.encode(Alert(severity=SEVERITY_CRITICAL, type="disk")))
    show(INVENTORY_STOCK_V1.encode(StockLevel(sku_id=-42)))
    show(ORDERS_PLACED_V1.encode(OrderPlaced(order_id="o-1")))


if __name__ == "__main__":
    main()
