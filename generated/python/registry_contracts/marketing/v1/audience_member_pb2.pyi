from registry_contracts.contracts.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AudienceMember(_message.Message):
    __slots__ = ("user_id", "email_opted_in", "lists", "locale")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_OPTED_IN_FIELD_NUMBER: _ClassVar[int]
    LISTS_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email_opted_in: bool
    lists: _containers.RepeatedScalarFieldContainer[str]
    locale: str
    def __init__(self, user_id: _Optional[str] = ..., email_opted_in: _Optional[bool] = ..., lists: _Optional[_Iterable[str]] = ..., locale: _Optional[str] = ...) -> None: ...
