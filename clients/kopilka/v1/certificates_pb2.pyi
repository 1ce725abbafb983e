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

class CertificateKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CERTIFICATE_KIND_UNSPECIFIED: _ClassVar[CertificateKind]
    CERTIFICATE_KIND_MONEY: _ClassVar[CertificateKind]
    CERTIFICATE_KIND_PRODUCT: _ClassVar[CertificateKind]

class CertificateState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CERTIFICATE_STATE_UNSPECIFIED: _ClassVar[CertificateState]
    CERTIFICATE_STATE_NEW: _ClassVar[CertificateState]
    CERTIFICATE_STATE_ACTIVE: _ClassVar[CertificateState]
    CERTIFICATE_STATE_REDEEMED: _ClassVar[CertificateState]
    CERTIFICATE_STATE_EXPIRED: _ClassVar[CertificateState]
    CERTIFICATE_STATE_BLOCKED: _ClassVar[CertificateState]
    CERTIFICATE_STATE_CLOSED: _ClassVar[CertificateState]
CERTIFICATE_KIND_UNSPECIFIED: CertificateKind
CERTIFICATE_KIND_MONEY: CertificateKind
CERTIFICATE_KIND_PRODUCT: CertificateKind
CERTIFICATE_STATE_UNSPECIFIED: CertificateState
CERTIFICATE_STATE_NEW: CertificateState
CERTIFICATE_STATE_ACTIVE: CertificateState
CERTIFICATE_STATE_REDEEMED: CertificateState
CERTIFICATE_STATE_EXPIRED: CertificateState
CERTIFICATE_STATE_BLOCKED: CertificateState
CERTIFICATE_STATE_CLOSED: CertificateState

class Certificate(_message.Message):
    __slots__ = ("number", "certificate_type", "kind", "state", "denomination", "balance", "activate_time", "expire_time")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DENOMINATION_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    number: str
    certificate_type: str
    kind: CertificateKind
    state: CertificateState
    denomination: _common_pb2.Money
    balance: _common_pb2.Money
    activate_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, number: _Optional[str] = ..., certificate_type: _Optional[str] = ..., kind: _Optional[_Union[CertificateKind, str]] = ..., state: _Optional[_Union[CertificateState, str]] = ..., denomination: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., activate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IssueCertificateRequest(_message.Message):
    __slots__ = ("request_id", "certificate_type", "count", "store_code", "denomination_minor")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    DENOMINATION_MINOR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    certificate_type: str
    count: int
    store_code: str
    denomination_minor: int
    def __init__(self, request_id: _Optional[str] = ..., certificate_type: _Optional[str] = ..., count: _Optional[int] = ..., store_code: _Optional[str] = ..., denomination_minor: _Optional[int] = ...) -> None: ...

class IssueCertificateResponse(_message.Message):
    __slots__ = ("certificates",)
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[Certificate]
    def __init__(self, certificates: _Optional[_Iterable[_Union[Certificate, _Mapping]]] = ...) -> None: ...

class GetCertificateRequest(_message.Message):
    __slots__ = ("number",)
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    number: str
    def __init__(self, number: _Optional[str] = ...) -> None: ...

class CertificateEntry(_message.Message):
    __slots__ = ("amount_minor", "kind", "receipt_id", "create_time")
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    amount_minor: int
    kind: str
    receipt_id: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, amount_minor: _Optional[int] = ..., kind: _Optional[str] = ..., receipt_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCertificateResponse(_message.Message):
    __slots__ = ("certificate", "entries")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    entries: _containers.RepeatedCompositeFieldContainer[CertificateEntry]
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[CertificateEntry, _Mapping]]] = ...) -> None: ...

class BlockCertificateRequest(_message.Message):
    __slots__ = ("request_id", "number", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    number: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., number: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class BlockCertificateResponse(_message.Message):
    __slots__ = ("certificate",)
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...

class ReissueCertificateRequest(_message.Message):
    __slots__ = ("request_id", "number", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    number: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., number: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReissueCertificateResponse(_message.Message):
    __slots__ = ("old_certificate", "new_certificate")
    OLD_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    NEW_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    old_certificate: Certificate
    new_certificate: Certificate
    def __init__(self, old_certificate: _Optional[_Union[Certificate, _Mapping]] = ..., new_certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...
