import datetime

from registry_contracts.common.v1 import common_pb2 as _common_pb2
from registry_contracts.contracts.v1 import options_pb2 as _options_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
PRIORITY_UNSPECIFIED: Priority
PRIORITY_LOW: Priority
PRIORITY_NORMAL: Priority
PRIORITY_HIGH: Priority

class EmailMessage(_message.Message):
    __slots__ = ("message_id", "template_id", "template_version", "to", "cc", "metadata", "priority", "send_after", "expires_in", "reply_to", "attachments", "limits")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AttachmentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: EmailMessage.Attachment
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[EmailMessage.Attachment, _Mapping]] = ...) -> None: ...
    class Attachment(_message.Message):
        __slots__ = ("filename", "content_type", "content")
        FILENAME_FIELD_NUMBER: _ClassVar[int]
        CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
        CONTENT_FIELD_NUMBER: _ClassVar[int]
        filename: str
        content_type: str
        content: bytes
        def __init__(self, filename: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...
    class Limits(_message.Message):
        __slots__ = ("max_bytes", "quota_left", "tz_offset_minutes", "balance", "shard", "tenant", "delta", "big_delta", "spam_score", "reputation", "retries")
        MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
        QUOTA_LEFT_FIELD_NUMBER: _ClassVar[int]
        TZ_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
        BALANCE_FIELD_NUMBER: _ClassVar[int]
        SHARD_FIELD_NUMBER: _ClassVar[int]
        TENANT_FIELD_NUMBER: _ClassVar[int]
        DELTA_FIELD_NUMBER: _ClassVar[int]
        BIG_DELTA_FIELD_NUMBER: _ClassVar[int]
        SPAM_SCORE_FIELD_NUMBER: _ClassVar[int]
        REPUTATION_FIELD_NUMBER: _ClassVar[int]
        RETRIES_FIELD_NUMBER: _ClassVar[int]
        max_bytes: int
        quota_left: int
        tz_offset_minutes: int
        balance: int
        shard: int
        tenant: int
        delta: int
        big_delta: int
        spam_score: float
        reputation: float
        retries: int
        def __init__(self, max_bytes: _Optional[int] = ..., quota_left: _Optional[int] = ..., tz_offset_minutes: _Optional[int] = ..., balance: _Optional[int] = ..., shard: _Optional[int] = ..., tenant: _Optional[int] = ..., delta: _Optional[int] = ..., big_delta: _Optional[int] = ..., spam_score: _Optional[float] = ..., reputation: _Optional[float] = ..., retries: _Optional[int] = ...) -> None: ...
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CC_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SEND_AFTER_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    template_id: str
    template_version: int
    to: _containers.RepeatedCompositeFieldContainer[_common_pb2.EmailAddress]
    cc: _containers.RepeatedCompositeFieldContainer[_common_pb2.EmailAddress]
    metadata: _containers.ScalarMap[str, str]
    priority: Priority
    send_after: _timestamp_pb2.Timestamp
    expires_in: _duration_pb2.Duration
    reply_to: _wrappers_pb2.StringValue
    attachments: _containers.MessageMap[str, EmailMessage.Attachment]
    limits: EmailMessage.Limits
    def __init__(self, message_id: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., to: _Optional[_Iterable[_Union[_common_pb2.EmailAddress, _Mapping]]] = ..., cc: _Optional[_Iterable[_Union[_common_pb2.EmailAddress, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., send_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_in: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reply_to: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., attachments: _Optional[_Mapping[str, EmailMessage.Attachment]] = ..., limits: _Optional[_Union[EmailMessage.Limits, _Mapping]] = ...) -> None: ...
