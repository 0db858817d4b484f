import datetime

from registry_contracts.buf.validate import validate_pb2 as _validate_pb2
from registry_contracts.common.v1 import common_pb2 as _common_pb2
from registry_contracts.contracts.v1 import options_pb2 as _options_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditEvent(_message.Message):
    __slots__ = ("event_id", "zone_id", "actor", "occurred_at", "zone_deleted", "setting_changed", "labels", "details")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ZoneDeleted(_message.Message):
        __slots__ = ("zone_name", "soft", "record_count")
        ZONE_NAME_FIELD_NUMBER: _ClassVar[int]
        SOFT_FIELD_NUMBER: _ClassVar[int]
        RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
        zone_name: str
        soft: bool
        record_count: int
        def __init__(self, zone_name: _Optional[str] = ..., soft: _Optional[bool] = ..., record_count: _Optional[int] = ...) -> None: ...
    class SettingChanged(_message.Message):
        __slots__ = ("setting", "old_value", "new_value")
        SETTING_FIELD_NUMBER: _ClassVar[int]
        OLD_VALUE_FIELD_NUMBER: _ClassVar[int]
        NEW_VALUE_FIELD_NUMBER: _ClassVar[int]
        setting: str
        old_value: str
        new_value: str
        def __init__(self, setting: _Optional[str] = ..., old_value: _Optional[str] = ..., new_value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ZONE_DELETED_FIELD_NUMBER: _ClassVar[int]
    SETTING_CHANGED_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    zone_id: str
    actor: _common_pb2.Actor
    occurred_at: _timestamp_pb2.Timestamp
    zone_deleted: AuditEvent.ZoneDeleted
    setting_changed: AuditEvent.SettingChanged
    labels: _containers.ScalarMap[str, str]
    details: _struct_pb2.Struct
    def __init__(self, event_id: _Optional[str] = ..., zone_id: _Optional[str] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., zone_deleted: _Optional[_Union[AuditEvent.ZoneDeleted, _Mapping]] = ..., setting_changed: _Optional[_Union[AuditEvent.SettingChanged, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
