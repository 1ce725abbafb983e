import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerificationOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERIFICATION_OPERATION_UNSPECIFIED: _ClassVar[VerificationOperation]
    VERIFICATION_OPERATION_REDEEM_POINTS: _ClassVar[VerificationOperation]
    VERIFICATION_OPERATION_CONFIRM_RECEIPT: _ClassVar[VerificationOperation]
    VERIFICATION_OPERATION_CONVERT_FUNDS: _ClassVar[VerificationOperation]
VERIFICATION_OPERATION_UNSPECIFIED: VerificationOperation
VERIFICATION_OPERATION_REDEEM_POINTS: VerificationOperation
VERIFICATION_OPERATION_CONFIRM_RECEIPT: VerificationOperation
VERIFICATION_OPERATION_CONVERT_FUNDS: VerificationOperation

class SendVerificationCodeRequest(_message.Message):
    __slots__ = ("request_id", "card_number", "phone", "operation", "max_amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    MAX_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_number: str
    phone: str
    operation: VerificationOperation
    max_amount: int
    def __init__(self, request_id: _Optional[str] = ..., card_number: _Optional[str] = ..., phone: _Optional[str] = ..., operation: _Optional[_Union[VerificationOperation, str]] = ..., max_amount: _Optional[int] = ...) -> None: ...

class SendVerificationCodeResponse(_message.Message):
    __slots__ = ("verification_id", "expire_time", "masked_phone", "card_number", "max_attempts")
    VERIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    MASKED_PHONE_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    verification_id: str
    expire_time: _timestamp_pb2.Timestamp
    masked_phone: str
    card_number: str
    max_attempts: int
    def __init__(self, verification_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., masked_phone: _Optional[str] = ..., card_number: _Optional[str] = ..., max_attempts: _Optional[int] = ...) -> None: ...

class VerifySMSRequest(_message.Message):
    __slots__ = ("verification_id", "code")
    VERIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    verification_id: str
    code: str
    def __init__(self, verification_id: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class VerifySMSResponse(_message.Message):
    __slots__ = ("verification_token", "card_number", "expire_time", "operation", "max_amount")
    VERIFICATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    MAX_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    verification_token: str
    card_number: str
    expire_time: _timestamp_pb2.Timestamp
    operation: VerificationOperation
    max_amount: int
    def __init__(self, verification_token: _Optional[str] = ..., card_number: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., operation: _Optional[_Union[VerificationOperation, str]] = ..., max_amount: _Optional[int] = ...) -> None: ...

class VerificationTemplate(_message.Message):
    __slots__ = ("body", "placeholders", "update_time", "updated_by")
    BODY_FIELD_NUMBER: _ClassVar[int]
    PLACEHOLDERS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    body: str
    placeholders: _containers.RepeatedScalarFieldContainer[str]
    update_time: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, body: _Optional[str] = ..., placeholders: _Optional[_Iterable[str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class GetVerificationTemplateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVerificationTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: VerificationTemplate
    def __init__(self, template: _Optional[_Union[VerificationTemplate, _Mapping]] = ...) -> None: ...

class UpdateVerificationTemplateRequest(_message.Message):
    __slots__ = ("request_id", "body")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    body: str
    def __init__(self, request_id: _Optional[str] = ..., body: _Optional[str] = ...) -> None: ...

class UpdateVerificationTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: VerificationTemplate
    def __init__(self, template: _Optional[_Union[VerificationTemplate, _Mapping]] = ...) -> None: ...
