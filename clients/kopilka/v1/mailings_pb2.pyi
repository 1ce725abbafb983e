import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from kopilka.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MailingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MAILING_STATE_UNSPECIFIED: _ClassVar[MailingState]
    MAILING_STATE_QUEUED: _ClassVar[MailingState]
    MAILING_STATE_SENT: _ClassVar[MailingState]
    MAILING_STATE_DELIVERED: _ClassVar[MailingState]
    MAILING_STATE_UNDELIVERABLE: _ClassVar[MailingState]
    MAILING_STATE_FAILED: _ClassVar[MailingState]
MAILING_STATE_UNSPECIFIED: MailingState
MAILING_STATE_QUEUED: MailingState
MAILING_STATE_SENT: MailingState
MAILING_STATE_DELIVERED: MailingState
MAILING_STATE_UNDELIVERABLE: MailingState
MAILING_STATE_FAILED: MailingState

class ListMailingsRequest(_message.Message):
    __slots__ = ("recipient", "channel", "state", "since", "until", "reference", "page")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    recipient: str
    channel: str
    state: MailingState
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    reference: str
    page: _common_pb2.PageRequest
    def __init__(self, recipient: _Optional[str] = ..., channel: _Optional[str] = ..., state: _Optional[_Union[MailingState, str]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class Mailing(_message.Message):
    __slots__ = ("mailing_id", "channel", "recipient", "subject", "body", "reference", "state", "attempts", "last_error", "delivery_error_code", "provider_message_ids", "create_time", "send_time", "final_time")
    MAILING_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    FINAL_TIME_FIELD_NUMBER: _ClassVar[int]
    mailing_id: str
    channel: str
    recipient: str
    subject: str
    body: str
    reference: str
    state: MailingState
    attempts: int
    last_error: str
    delivery_error_code: str
    provider_message_ids: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    send_time: _timestamp_pb2.Timestamp
    final_time: _timestamp_pb2.Timestamp
    def __init__(self, mailing_id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., reference: _Optional[str] = ..., state: _Optional[_Union[MailingState, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., delivery_error_code: _Optional[str] = ..., provider_message_ids: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., final_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListMailingsResponse(_message.Message):
    __slots__ = ("mailings", "page")
    MAILINGS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    mailings: _containers.RepeatedCompositeFieldContainer[Mailing]
    page: _common_pb2.PageInfo
    def __init__(self, mailings: _Optional[_Iterable[_Union[Mailing, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...
