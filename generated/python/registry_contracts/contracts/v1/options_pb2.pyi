from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Compatibility(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPATIBILITY_UNSPECIFIED: _ClassVar[Compatibility]
    COMPATIBILITY_NONE: _ClassVar[Compatibility]
    COMPATIBILITY_WIRE: _ClassVar[Compatibility]
    COMPATIBILITY_WIRE_JSON: _ClassVar[Compatibility]
    COMPATIBILITY_SOURCE: _ClassVar[Compatibility]

class Validation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VALIDATION_UNSPECIFIED: _ClassVar[Validation]
    VALIDATION_REJECT: _ClassVar[Validation]
    VALIDATION_DLQ: _ClassVar[Validation]
    VALIDATION_OFF: _ClassVar[Validation]
COMPATIBILITY_UNSPECIFIED: Compatibility
COMPATIBILITY_NONE: Compatibility
COMPATIBILITY_WIRE: Compatibility
COMPATIBILITY_WIRE_JSON: Compatibility
COMPATIBILITY_SOURCE: Compatibility
VALIDATION_UNSPECIFIED: Validation
VALIDATION_REJECT: Validation
VALIDATION_DLQ: Validation
VALIDATION_OFF: Validation
TOPIC_FIELD_NUMBER: _ClassVar[int]
topic: _descriptor.FieldDescriptor

class Topic(_message.Message):
    __slots__ = ("name", "key", "partitions", "replication_factor", "retention", "cleanup_policy", "owner", "producers", "consumers", "compatibility", "validation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    CLEANUP_POLICY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PRODUCERS_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    COMPATIBILITY_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    key: str
    partitions: int
    replication_factor: int
    retention: str
    cleanup_policy: str
    owner: str
    producers: _containers.RepeatedScalarFieldContainer[str]
    consumers: _containers.RepeatedScalarFieldContainer[str]
    compatibility: Compatibility
    validation: Validation
    def __init__(self, name: _Optional[str] = ..., key: _Optional[str] = ..., partitions: _Optional[int] = ..., replication_factor: _Optional[int] = ..., retention: _Optional[str] = ..., cleanup_policy: _Optional[str] = ..., owner: _Optional[str] = ..., producers: _Optional[_Iterable[str]] = ..., consumers: _Optional[_Iterable[str]] = ..., compatibility: _Optional[_Union[Compatibility, str]] = ..., validation: _Optional[_Union[Validation, str]] = ...) -> None: ...
