import datetime

from registry_contracts.buf.validate import validate_pb2 as _validate_pb2
from registry_contracts.common.v1 import common_pb2 as _common_pb2
from registry_contracts.contracts.v1 import options_pb2 as _options_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PreferenceChanged(_message.Message):
    __slots__ = ("user_id", "changed_by", "changed_at", "channels", "subscriptions", "locale", "quiet_hours")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    changed_by: _common_pb2.Actor
    changed_at: _timestamp_pb2.Timestamp
    channels: _containers.RepeatedCompositeFieldContainer[ChannelPreference]
    subscriptions: _containers.RepeatedScalarFieldContainer[str]
    locale: str
    quiet_hours: QuietHours
    def __init__(self, user_id: _Optional[str] = ..., changed_by: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[ChannelPreference, _Mapping]]] = ..., subscriptions: _Optional[_Iterable[str]] = ..., locale: _Optional[str] = ..., quiet_hours: _Optional[_Union[QuietHours, _Mapping]] = ...) -> None: ...

class ChannelPreference(_message.Message):
    __slots__ = ("channel", "opted_in")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    OPTED_IN_FIELD_NUMBER: _ClassVar[int]
    channel: _common_pb2.Channel
    opted_in: bool
    def __init__(self, channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., opted_in: _Optional[bool] = ...) -> None: ...

class QuietHours(_message.Message):
    __slots__ = ("start_minute", "end_minute", "time_zone")
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    start_minute: int
    end_minute: int
    time_zone: str
    def __init__(self, start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ..., time_zone: _Optional[str] = ...) -> None: ...
