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

class ReceiptState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECEIPT_STATE_UNSPECIFIED: _ClassVar[ReceiptState]
    RECEIPT_STATE_CONFIRMED: _ClassVar[ReceiptState]
    RECEIPT_STATE_PARTIALLY_REFUNDED: _ClassVar[ReceiptState]
    RECEIPT_STATE_REFUNDED: _ClassVar[ReceiptState]
    RECEIPT_STATE_CANCELLED: _ClassVar[ReceiptState]

class PaymentMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_METHOD_UNSPECIFIED: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CASH: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_BANK_CARD: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CASH_ACCOUNT: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CERTIFICATE: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_ONLINE: _ClassVar[PaymentMethod]
RECEIPT_STATE_UNSPECIFIED: ReceiptState
RECEIPT_STATE_CONFIRMED: ReceiptState
RECEIPT_STATE_PARTIALLY_REFUNDED: ReceiptState
RECEIPT_STATE_REFUNDED: ReceiptState
RECEIPT_STATE_CANCELLED: ReceiptState
PAYMENT_METHOD_UNSPECIFIED: PaymentMethod
PAYMENT_METHOD_CASH: PaymentMethod
PAYMENT_METHOD_BANK_CARD: PaymentMethod
PAYMENT_METHOD_CASH_ACCOUNT: PaymentMethod
PAYMENT_METHOD_CERTIFICATE: PaymentMethod
PAYMENT_METHOD_ONLINE: PaymentMethod

class ReceiptLine(_message.Message):
    __slots__ = ("line_no", "sku", "barcode", "quantity_milli", "unit_price_minor")
    LINE_NO_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    BARCODE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MILLI_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_MINOR_FIELD_NUMBER: _ClassVar[int]
    line_no: int
    sku: str
    barcode: str
    quantity_milli: int
    unit_price_minor: int
    def __init__(self, line_no: _Optional[int] = ..., sku: _Optional[str] = ..., barcode: _Optional[str] = ..., quantity_milli: _Optional[int] = ..., unit_price_minor: _Optional[int] = ...) -> None: ...

class AppliedDiscount(_message.Message):
    __slots__ = ("rule_id", "rule_name", "amount_minor", "reason")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    rule_name: str
    amount_minor: int
    reason: str
    def __init__(self, rule_id: _Optional[str] = ..., rule_name: _Optional[str] = ..., amount_minor: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class PricedLine(_message.Message):
    __slots__ = ("line_no", "sku", "quantity_milli", "base_amount_minor", "discounts", "final_amount_minor")
    LINE_NO_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MILLI_FIELD_NUMBER: _ClassVar[int]
    BASE_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    FINAL_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    line_no: int
    sku: str
    quantity_milli: int
    base_amount_minor: int
    discounts: _containers.RepeatedCompositeFieldContainer[AppliedDiscount]
    final_amount_minor: int
    def __init__(self, line_no: _Optional[int] = ..., sku: _Optional[str] = ..., quantity_milli: _Optional[int] = ..., base_amount_minor: _Optional[int] = ..., discounts: _Optional[_Iterable[_Union[AppliedDiscount, _Mapping]]] = ..., final_amount_minor: _Optional[int] = ...) -> None: ...

class CalculateReceiptRequest(_message.Message):
    __slots__ = ("store_code", "terminal_id", "card_number", "receipt_time", "lines", "pay_with_points", "currency")
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    PAY_WITH_POINTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    store_code: str
    terminal_id: str
    card_number: str
    receipt_time: _timestamp_pb2.Timestamp
    lines: _containers.RepeatedCompositeFieldContainer[ReceiptLine]
    pay_with_points: int
    currency: str
    def __init__(self, store_code: _Optional[str] = ..., terminal_id: _Optional[str] = ..., card_number: _Optional[str] = ..., receipt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[ReceiptLine, _Mapping]]] = ..., pay_with_points: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class CalculateReceiptResponse(_message.Message):
    __slots__ = ("calculation_id", "rule_set_version", "lines", "subtotal", "discount_total", "total", "points_to_accrue", "max_points_redeemable", "points_redeemed", "messages")
    CALCULATION_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_VERSION_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    POINTS_TO_ACCRUE_FIELD_NUMBER: _ClassVar[int]
    MAX_POINTS_REDEEMABLE_FIELD_NUMBER: _ClassVar[int]
    POINTS_REDEEMED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    calculation_id: str
    rule_set_version: str
    lines: _containers.RepeatedCompositeFieldContainer[PricedLine]
    subtotal: _common_pb2.Money
    discount_total: _common_pb2.Money
    total: _common_pb2.Money
    points_to_accrue: int
    max_points_redeemable: int
    points_redeemed: int
    messages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, calculation_id: _Optional[str] = ..., rule_set_version: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[PricedLine, _Mapping]]] = ..., subtotal: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., discount_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., points_to_accrue: _Optional[int] = ..., max_points_redeemable: _Optional[int] = ..., points_redeemed: _Optional[int] = ..., messages: _Optional[_Iterable[str]] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("method", "amount_minor", "certificate_number")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    method: PaymentMethod
    amount_minor: int
    certificate_number: str
    def __init__(self, method: _Optional[_Union[PaymentMethod, str]] = ..., amount_minor: _Optional[int] = ..., certificate_number: _Optional[str] = ...) -> None: ...

class ConfirmReceiptRequest(_message.Message):
    __slots__ = ("request_id", "calculation_id", "receipt_number", "payments", "verification_token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALCULATION_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    calculation_id: str
    receipt_number: str
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    verification_token: str
    def __init__(self, request_id: _Optional[str] = ..., calculation_id: _Optional[str] = ..., receipt_number: _Optional[str] = ..., payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., verification_token: _Optional[str] = ...) -> None: ...

class ConfirmReceiptResponse(_message.Message):
    __slots__ = ("receipt_id", "state", "points_accrued", "points_redeemed", "points_balance", "confirm_time")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_ACCRUED_FIELD_NUMBER: _ClassVar[int]
    POINTS_REDEEMED_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    state: ReceiptState
    points_accrued: int
    points_redeemed: int
    points_balance: int
    confirm_time: _timestamp_pb2.Timestamp
    def __init__(self, receipt_id: _Optional[str] = ..., state: _Optional[_Union[ReceiptState, str]] = ..., points_accrued: _Optional[int] = ..., points_redeemed: _Optional[int] = ..., points_balance: _Optional[int] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RefundLine(_message.Message):
    __slots__ = ("line_no", "quantity_milli")
    LINE_NO_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MILLI_FIELD_NUMBER: _ClassVar[int]
    line_no: int
    quantity_milli: int
    def __init__(self, line_no: _Optional[int] = ..., quantity_milli: _Optional[int] = ...) -> None: ...

class RefundReceiptRequest(_message.Message):
    __slots__ = ("request_id", "receipt_id", "lines")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    receipt_id: str
    lines: _containers.RepeatedCompositeFieldContainer[RefundLine]
    def __init__(self, request_id: _Optional[str] = ..., receipt_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[RefundLine, _Mapping]]] = ...) -> None: ...

class RefundReceiptResponse(_message.Message):
    __slots__ = ("refund_total", "points_reversed", "points_returned", "state", "points_shortfall", "payment_refunds")
    REFUND_TOTAL_FIELD_NUMBER: _ClassVar[int]
    POINTS_REVERSED_FIELD_NUMBER: _ClassVar[int]
    POINTS_RETURNED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFUNDS_FIELD_NUMBER: _ClassVar[int]
    refund_total: _common_pb2.Money
    points_reversed: int
    points_returned: int
    state: ReceiptState
    points_shortfall: _common_pb2.Money
    payment_refunds: _containers.RepeatedCompositeFieldContainer[PaymentRefund]
    def __init__(self, refund_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., points_reversed: _Optional[int] = ..., points_returned: _Optional[int] = ..., state: _Optional[_Union[ReceiptState, str]] = ..., points_shortfall: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., payment_refunds: _Optional[_Iterable[_Union[PaymentRefund, _Mapping]]] = ...) -> None: ...

class PaymentRefund(_message.Message):
    __slots__ = ("method", "amount_minor", "certificate_number")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    method: PaymentMethod
    amount_minor: int
    certificate_number: str
    def __init__(self, method: _Optional[_Union[PaymentMethod, str]] = ..., amount_minor: _Optional[int] = ..., certificate_number: _Optional[str] = ...) -> None: ...

class CancelReceiptRequest(_message.Message):
    __slots__ = ("request_id", "receipt_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    receipt_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., receipt_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelReceiptResponse(_message.Message):
    __slots__ = ("state", "points_reversed", "points_returned", "payment_refunds")
    STATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_REVERSED_FIELD_NUMBER: _ClassVar[int]
    POINTS_RETURNED_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFUNDS_FIELD_NUMBER: _ClassVar[int]
    state: ReceiptState
    points_reversed: int
    points_returned: int
    payment_refunds: _containers.RepeatedCompositeFieldContainer[PaymentRefund]
    def __init__(self, state: _Optional[_Union[ReceiptState, str]] = ..., points_reversed: _Optional[int] = ..., points_returned: _Optional[int] = ..., payment_refunds: _Optional[_Iterable[_Union[PaymentRefund, _Mapping]]] = ...) -> None: ...
