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

class BarcodeFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BARCODE_FORMAT_UNSPECIFIED: _ClassVar[BarcodeFormat]
    BARCODE_FORMAT_EAN13: _ClassVar[BarcodeFormat]
    BARCODE_FORMAT_CODE128: _ClassVar[BarcodeFormat]

class RemainderPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMAINDER_POLICY_UNSPECIFIED: _ClassVar[RemainderPolicy]
    REMAINDER_POLICY_KEEP: _ClassVar[RemainderPolicy]
    REMAINDER_POLICY_FORFEIT: _ClassVar[RemainderPolicy]

class ExpiredRefundPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPIRED_REFUND_POLICY_UNSPECIFIED: _ClassVar[ExpiredRefundPolicy]
    EXPIRED_REFUND_POLICY_REACTIVATE: _ClassVar[ExpiredRefundPolicy]
    EXPIRED_REFUND_POLICY_FORFEIT: _ClassVar[ExpiredRefundPolicy]
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
BARCODE_FORMAT_UNSPECIFIED: BarcodeFormat
BARCODE_FORMAT_EAN13: BarcodeFormat
BARCODE_FORMAT_CODE128: BarcodeFormat
REMAINDER_POLICY_UNSPECIFIED: RemainderPolicy
REMAINDER_POLICY_KEEP: RemainderPolicy
REMAINDER_POLICY_FORFEIT: RemainderPolicy
EXPIRED_REFUND_POLICY_UNSPECIFIED: ExpiredRefundPolicy
EXPIRED_REFUND_POLICY_REACTIVATE: ExpiredRefundPolicy
EXPIRED_REFUND_POLICY_FORFEIT: ExpiredRefundPolicy

class CertificateType(_message.Message):
    __slots__ = ("code", "name", "kind", "currency", "denominations_minor", "barcode_format", "number_prefix", "remainder_policy", "valid_days", "valid_from_time", "valid_until_time", "expired_refund_policy", "refund_extension_days", "product_skus", "product_groups", "template", "min_denomination_minor", "max_denomination_minor", "denomination_step_minor")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DENOMINATIONS_MINOR_FIELD_NUMBER: _ClassVar[int]
    BARCODE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    NUMBER_PREFIX_FIELD_NUMBER: _ClassVar[int]
    REMAINDER_POLICY_FIELD_NUMBER: _ClassVar[int]
    VALID_DAYS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_REFUND_POLICY_FIELD_NUMBER: _ClassVar[int]
    REFUND_EXTENSION_DAYS_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_SKUS_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_GROUPS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    MIN_DENOMINATION_MINOR_FIELD_NUMBER: _ClassVar[int]
    MAX_DENOMINATION_MINOR_FIELD_NUMBER: _ClassVar[int]
    DENOMINATION_STEP_MINOR_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    kind: CertificateKind
    currency: str
    denominations_minor: _containers.RepeatedScalarFieldContainer[int]
    barcode_format: BarcodeFormat
    number_prefix: str
    remainder_policy: RemainderPolicy
    valid_days: int
    valid_from_time: _timestamp_pb2.Timestamp
    valid_until_time: _timestamp_pb2.Timestamp
    expired_refund_policy: ExpiredRefundPolicy
    refund_extension_days: int
    product_skus: _containers.RepeatedScalarFieldContainer[str]
    product_groups: _containers.RepeatedScalarFieldContainer[str]
    template: str
    min_denomination_minor: int
    max_denomination_minor: int
    denomination_step_minor: int
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[CertificateKind, str]] = ..., currency: _Optional[str] = ..., denominations_minor: _Optional[_Iterable[int]] = ..., barcode_format: _Optional[_Union[BarcodeFormat, str]] = ..., number_prefix: _Optional[str] = ..., remainder_policy: _Optional[_Union[RemainderPolicy, str]] = ..., valid_days: _Optional[int] = ..., valid_from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expired_refund_policy: _Optional[_Union[ExpiredRefundPolicy, str]] = ..., refund_extension_days: _Optional[int] = ..., product_skus: _Optional[_Iterable[str]] = ..., product_groups: _Optional[_Iterable[str]] = ..., template: _Optional[str] = ..., min_denomination_minor: _Optional[int] = ..., max_denomination_minor: _Optional[int] = ..., denomination_step_minor: _Optional[int] = ...) -> None: ...

class UpsertCertificateTypeRequest(_message.Message):
    __slots__ = ("request_id", "certificate_type")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    certificate_type: CertificateType
    def __init__(self, request_id: _Optional[str] = ..., certificate_type: _Optional[_Union[CertificateType, _Mapping]] = ...) -> None: ...

class UpsertCertificateTypeResponse(_message.Message):
    __slots__ = ("certificate_type",)
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    certificate_type: CertificateType
    def __init__(self, certificate_type: _Optional[_Union[CertificateType, _Mapping]] = ...) -> None: ...

class ListCertificateTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCertificateTypesResponse(_message.Message):
    __slots__ = ("certificate_types",)
    CERTIFICATE_TYPES_FIELD_NUMBER: _ClassVar[int]
    certificate_types: _containers.RepeatedCompositeFieldContainer[CertificateType]
    def __init__(self, certificate_types: _Optional[_Iterable[_Union[CertificateType, _Mapping]]] = ...) -> None: ...

class Certificate(_message.Message):
    __slots__ = ("number", "certificate_type", "kind", "state", "denomination", "balance", "activate_time", "expire_time", "store_code", "replaces_number", "replaced_by_number", "valid_from_time", "remainder_policy")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DENOMINATION_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    REPLACES_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REPLACED_BY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    REMAINDER_POLICY_FIELD_NUMBER: _ClassVar[int]
    number: str
    certificate_type: str
    kind: CertificateKind
    state: CertificateState
    denomination: _common_pb2.Money
    balance: _common_pb2.Money
    activate_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    store_code: str
    replaces_number: str
    replaced_by_number: str
    valid_from_time: _timestamp_pb2.Timestamp
    remainder_policy: RemainderPolicy
    def __init__(self, number: _Optional[str] = ..., certificate_type: _Optional[str] = ..., kind: _Optional[_Union[CertificateKind, str]] = ..., state: _Optional[_Union[CertificateState, str]] = ..., denomination: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., activate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_code: _Optional[str] = ..., replaces_number: _Optional[str] = ..., replaced_by_number: _Optional[str] = ..., valid_from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remainder_policy: _Optional[_Union[RemainderPolicy, str]] = ...) -> None: ...

class IssueCertificateRequest(_message.Message):
    __slots__ = ("request_id", "certificate_type", "count", "store_code", "denomination_minor", "print_only")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    DENOMINATION_MINOR_FIELD_NUMBER: _ClassVar[int]
    PRINT_ONLY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    certificate_type: str
    count: int
    store_code: str
    denomination_minor: int
    print_only: bool
    def __init__(self, request_id: _Optional[str] = ..., certificate_type: _Optional[str] = ..., count: _Optional[int] = ..., store_code: _Optional[str] = ..., denomination_minor: _Optional[int] = ..., print_only: _Optional[bool] = ...) -> None: ...

class IssueCertificateResponse(_message.Message):
    __slots__ = ("certificates",)
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[Certificate]
    def __init__(self, certificates: _Optional[_Iterable[_Union[Certificate, _Mapping]]] = ...) -> None: ...

class ActivateCertificateRequest(_message.Message):
    __slots__ = ("request_id", "number", "store_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    number: str
    store_code: str
    def __init__(self, request_id: _Optional[str] = ..., number: _Optional[str] = ..., store_code: _Optional[str] = ...) -> None: ...

class ActivateCertificateResponse(_message.Message):
    __slots__ = ("certificate",)
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...

class GetCertificateRequest(_message.Message):
    __slots__ = ("number",)
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    number: str
    def __init__(self, number: _Optional[str] = ...) -> None: ...

class CertificateEntry(_message.Message):
    __slots__ = ("amount_minor", "kind", "receipt_id", "create_time", "balance_after_minor", "store_code", "sku", "note")
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_MINOR_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    amount_minor: int
    kind: str
    receipt_id: str
    create_time: _timestamp_pb2.Timestamp
    balance_after_minor: int
    store_code: str
    sku: str
    note: str
    def __init__(self, amount_minor: _Optional[int] = ..., kind: _Optional[str] = ..., receipt_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., balance_after_minor: _Optional[int] = ..., store_code: _Optional[str] = ..., sku: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class GetCertificateResponse(_message.Message):
    __slots__ = ("certificate", "entries")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    entries: _containers.RepeatedCompositeFieldContainer[CertificateEntry]
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[CertificateEntry, _Mapping]]] = ...) -> None: ...

class RedeemCertificateRequest(_message.Message):
    __slots__ = ("request_id", "number", "receipt_id", "store_code", "amount", "sku")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    number: str
    receipt_id: str
    store_code: str
    amount: _common_pb2.Money
    sku: str
    def __init__(self, request_id: _Optional[str] = ..., number: _Optional[str] = ..., receipt_id: _Optional[str] = ..., store_code: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., sku: _Optional[str] = ...) -> None: ...

class RedeemCertificateResponse(_message.Message):
    __slots__ = ("certificate",)
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...

class RefundToCertificateRequest(_message.Message):
    __slots__ = ("request_id", "number", "receipt_id", "amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    number: str
    receipt_id: str
    amount: _common_pb2.Money
    def __init__(self, request_id: _Optional[str] = ..., number: _Optional[str] = ..., receipt_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class RefundToCertificateResponse(_message.Message):
    __slots__ = ("certificate",)
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: Certificate
    def __init__(self, certificate: _Optional[_Union[Certificate, _Mapping]] = ...) -> None: ...

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

class ExpireCertificatesRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class ExpireCertificatesResponse(_message.Message):
    __slots__ = ("expired_count", "written_off")
    EXPIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_OFF_FIELD_NUMBER: _ClassVar[int]
    expired_count: int
    written_off: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    def __init__(self, expired_count: _Optional[int] = ..., written_off: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ...) -> None: ...

class GetCertificateUsageReportRequest(_message.Message):
    __slots__ = ("from_time", "to_time", "store_code")
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    store_code: str
    def __init__(self, from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_code: _Optional[str] = ...) -> None: ...

class CertificateUsageRow(_message.Message):
    __slots__ = ("store_code", "currency", "issued_count", "issued_minor", "redeemed_minor", "refunded_minor", "forfeited_minor", "expired_minor", "expired_count", "outstanding_minor", "outstanding_count", "amounts_saturated")
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ISSUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ISSUED_MINOR_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_MINOR_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_MINOR_FIELD_NUMBER: _ClassVar[int]
    FORFEITED_MINOR_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_MINOR_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_MINOR_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_SATURATED_FIELD_NUMBER: _ClassVar[int]
    store_code: str
    currency: str
    issued_count: int
    issued_minor: int
    redeemed_minor: int
    refunded_minor: int
    forfeited_minor: int
    expired_minor: int
    expired_count: int
    outstanding_minor: int
    outstanding_count: int
    amounts_saturated: bool
    def __init__(self, store_code: _Optional[str] = ..., currency: _Optional[str] = ..., issued_count: _Optional[int] = ..., issued_minor: _Optional[int] = ..., redeemed_minor: _Optional[int] = ..., refunded_minor: _Optional[int] = ..., forfeited_minor: _Optional[int] = ..., expired_minor: _Optional[int] = ..., expired_count: _Optional[int] = ..., outstanding_minor: _Optional[int] = ..., outstanding_count: _Optional[int] = ..., amounts_saturated: _Optional[bool] = ...) -> None: ...

class GetCertificateUsageReportResponse(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[CertificateUsageRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[CertificateUsageRow, _Mapping]]] = ...) -> None: ...
