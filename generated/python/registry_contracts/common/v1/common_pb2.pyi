from registry_contracts.buf.validate import validate_pb2 as _validate_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ActorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTOR_KIND_UNSPECIFIED: _ClassVar[ActorKind]
    ACTOR_KIND_USER: _ClassVar[ActorKind]
    ACTOR_KIND_SERVICE: _ClassVar[ActorKind]
    ACTOR_KIND_SYSTEM: _ClassVar[ActorKind]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_PUSH: _ClassVar[Channel]
ACTOR_KIND_UNSPECIFIED: ActorKind
ACTOR_KIND_USER: ActorKind
ACTOR_KIND_SERVICE: ActorKind
ACTOR_KIND_SYSTEM: ActorKind
CHANNEL_UNSPECIFIED: Channel
CHANNEL_EMAIL: Channel
CHANNEL_SMS: Channel
CHANNEL_PUSH: Channel

class Actor(_message.Message):
    __slots__ = ("kind", "id", "display_name", "ip_address")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    kind: ActorKind
    id: str
    display_name: str
    ip_address: str
    def __init__(self, kind: _Optional[_Union[ActorKind, str]] = ..., id: _Optional[str] = ..., display_name: _Optional[str] = ..., ip_address: _Optional[str] = ...) -> None: ...

class EmailAddress(_message.Message):
    __slots__ = ("address", "name")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    address: str
    name: str
    def __init__(self, address: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...
