from fixture_contracts.contracts.v1 import options_pb2 as _options_pb2
from fixture_contracts.shared.v1 import shared_pb2 as _shared_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StockLevel(_message.Message):
    __slots__ = ("sku_id", "on_hand", "value")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    sku_id: int
    on_hand: int
    value: _shared_pb2.Money
    def __init__(self, sku_id: _Optional[int] = ..., on_hand: _Optional[int] = ..., value: _Optional[_Union[_shared_pb2.Money, _Mapping]] = ...) -> None: ...
