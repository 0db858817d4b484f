import datetime

from fixture_contracts.buf.validate import validate_pb2 as _validate_pb2
from fixture_contracts.contracts.v1 import options_pb2 as _options_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from fixture_contracts.shared.v1 import shared_pb2 as _shared_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderPlaced(_message.Message):
    __slots__ = ("order_id", "tenant", "items", "total", "placed_at", "payment_method")
    class PaymentMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PAYMENT_METHOD_UNSPECIFIED: _ClassVar[OrderPlaced.PaymentMethod]
        PAYMENT_METHOD_CARD: _ClassVar[OrderPlaced.PaymentMethod]
        PAYMENT_METHOD_INVOICE: _ClassVar[OrderPlaced.PaymentMethod]
    PAYMENT_METHOD_UNSPECIFIED: OrderPlaced.PaymentMethod
    PAYMENT_METHOD_CARD: OrderPlaced.PaymentMethod
    PAYMENT_METHOD_INVOICE: OrderPlaced.PaymentMethod
    class LineItem(_message.Message):
        __slots__ = ("sku_id", "quantity", "unit_price")
        SKU_ID_FIELD_NUMBER: _ClassVar[int]
        QUANTITY_FIELD_NUMBER: _ClassVar[int]
        UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
        sku_id: int
        quantity: int
        unit_price: _shared_pb2.Money
        def __init__(self, sku_id: _Optional[int] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_shared_pb2.Money, _Mapping]] = ...) -> None: ...
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    tenant: _shared_pb2.Tenant
    items: _containers.RepeatedCompositeFieldContainer[OrderPlaced.LineItem]
    total: _shared_pb2.Money
    placed_at: _timestamp_pb2.Timestamp
    payment_method: OrderPlaced.PaymentMethod
    def __init__(self, order_id: _Optional[str] = ..., tenant: _Optional[_Union[_shared_pb2.Tenant, _Mapping]] = ..., items: _Optional[_Iterable[_Union[OrderPlaced.LineItem, _Mapping]]] = ..., total: _Optional[_Union[_shared_pb2.Money, _Mapping]] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payment_method: _Optional[_Union[OrderPlaced.PaymentMethod, str]] = ...) -> None: ...
