import datetime

from fixture_contracts.contracts.v1 import options_pb2 as _options_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from fixture_contracts.shared.v1 import shared_pb2 as _shared_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_WARNING: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]
SEVERITY_UNSPECIFIED: Severity
SEVERITY_WARNING: Severity
SEVERITY_CRITICAL: Severity

class Alert(_message.Message):
    __slots__ = ("severity", "check", "type", "context")
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    severity: Severity
    check: str
    type: str
    context: AlertContext
    def __init__(self, severity: _Optional[_Union[Severity, str]] = ..., check: _Optional[str] = ..., type: _Optional[str] = ..., context: _Optional[_Union[AlertContext, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("monitor", "interval", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MONITOR_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    monitor: str
    interval: _duration_pb2.Duration
    labels: _containers.ScalarMap[str, str]
    def __init__(self, monitor: _Optional[str] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AlertContext(_message.Message):
    __slots__ = ("host", "region")
    HOST_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    host: str
    region: _shared_pb2.Region
    def __init__(self, host: _Optional[str] = ..., region: _Optional[_Union[_shared_pb2.Region, str]] = ...) -> None: ...
