import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversionDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSION_DIRECTION_UNSPECIFIED: _ClassVar[ConversionDirection]
    CONVERSION_DIRECTION_CASH_TO_POINTS: _ClassVar[ConversionDirection]
    CONVERSION_DIRECTION_POINTS_TO_CASH: _ClassVar[ConversionDirection]
CONVERSION_DIRECTION_UNSPECIFIED: ConversionDirection
CONVERSION_DIRECTION_CASH_TO_POINTS: ConversionDirection
CONVERSION_DIRECTION_POINTS_TO_CASH: ConversionDirection

class RedeemBonusRequest(_message.Message):
    __slots__ = ("request_id", "card_number", "points", "order_reference", "verification_token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_number: str
    points: int
    order_reference: str
    verification_token: str
    def __init__(self, request_id: _Optional[str] = ..., card_number: _Optional[str] = ..., points: _Optional[int] = ..., order_reference: _Optional[str] = ..., verification_token: _Optional[str] = ...) -> None: ...

class RedeemBonusResponse(_message.Message):
    __slots__ = ("transaction_id", "points_balance")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    points_balance: int
    def __init__(self, transaction_id: _Optional[str] = ..., points_balance: _Optional[int] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("card_number",)
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    card_number: str
    def __init__(self, card_number: _Optional[str] = ...) -> None: ...

class PointsLot(_message.Message):
    __slots__ = ("points", "activation_time", "expiry_time")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_TIME_FIELD_NUMBER: _ClassVar[int]
    points: int
    activation_time: _timestamp_pb2.Timestamp
    expiry_time: _timestamp_pb2.Timestamp
    def __init__(self, points: _Optional[int] = ..., activation_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expiry_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("points_available", "points_pending", "cash_balance_minor", "lots", "master_account_id")
    POINTS_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    POINTS_PENDING_FIELD_NUMBER: _ClassVar[int]
    CASH_BALANCE_MINOR_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    MASTER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    points_available: int
    points_pending: int
    cash_balance_minor: int
    lots: _containers.RepeatedCompositeFieldContainer[PointsLot]
    master_account_id: str
    def __init__(self, points_available: _Optional[int] = ..., points_pending: _Optional[int] = ..., cash_balance_minor: _Optional[int] = ..., lots: _Optional[_Iterable[_Union[PointsLot, _Mapping]]] = ..., master_account_id: _Optional[str] = ...) -> None: ...

class AdjustPointsRequest(_message.Message):
    __slots__ = ("request_id", "card_number", "points", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_number: str
    points: int
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., card_number: _Optional[str] = ..., points: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class AdjustPointsResponse(_message.Message):
    __slots__ = ("transaction_id", "points_balance")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    points_balance: int
    def __init__(self, transaction_id: _Optional[str] = ..., points_balance: _Optional[int] = ...) -> None: ...

class AccruePointsForListRequest(_message.Message):
    __slots__ = ("request_id", "card_numbers", "points", "reason", "activation_time", "expiry_time")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_TIME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_numbers: _containers.RepeatedScalarFieldContainer[str]
    points: int
    reason: str
    activation_time: _timestamp_pb2.Timestamp
    expiry_time: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., card_numbers: _Optional[_Iterable[str]] = ..., points: _Optional[int] = ..., reason: _Optional[str] = ..., activation_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expiry_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AccruePointsForListResponse(_message.Message):
    __slots__ = ("transaction_id", "members_accrued")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_ACCRUED_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    members_accrued: int
    def __init__(self, transaction_id: _Optional[str] = ..., members_accrued: _Optional[int] = ...) -> None: ...

class TopUpCashAccountRequest(_message.Message):
    __slots__ = ("request_id", "card_number", "amount_minor", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_number: str
    amount_minor: int
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., card_number: _Optional[str] = ..., amount_minor: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class TopUpCashAccountResponse(_message.Message):
    __slots__ = ("transaction_id", "cash_balance_minor")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CASH_BALANCE_MINOR_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    cash_balance_minor: int
    def __init__(self, transaction_id: _Optional[str] = ..., cash_balance_minor: _Optional[int] = ...) -> None: ...

class ConvertFundsRequest(_message.Message):
    __slots__ = ("request_id", "card_number", "direction", "amount", "verification_token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_number: str
    direction: ConversionDirection
    amount: int
    verification_token: str
    def __init__(self, request_id: _Optional[str] = ..., card_number: _Optional[str] = ..., direction: _Optional[_Union[ConversionDirection, str]] = ..., amount: _Optional[int] = ..., verification_token: _Optional[str] = ...) -> None: ...

class ConvertFundsResponse(_message.Message):
    __slots__ = ("transaction_id", "debited", "credited", "points_balance", "cash_balance_minor")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    DEBITED_FIELD_NUMBER: _ClassVar[int]
    CREDITED_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    CASH_BALANCE_MINOR_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    debited: int
    credited: int
    points_balance: int
    cash_balance_minor: int
    def __init__(self, transaction_id: _Optional[str] = ..., debited: _Optional[int] = ..., credited: _Optional[int] = ..., points_balance: _Optional[int] = ..., cash_balance_minor: _Optional[int] = ...) -> None: ...

class PoolCashAccountsRequest(_message.Message):
    __slots__ = ("request_id", "master_account_id", "card_numbers")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MASTER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    master_account_id: str
    card_numbers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., master_account_id: _Optional[str] = ..., card_numbers: _Optional[_Iterable[str]] = ...) -> None: ...

class PoolCashAccountsResponse(_message.Message):
    __slots__ = ("master_account_id", "cash_balance_minor")
    MASTER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CASH_BALANCE_MINOR_FIELD_NUMBER: _ClassVar[int]
    master_account_id: str
    cash_balance_minor: int
    def __init__(self, master_account_id: _Optional[str] = ..., cash_balance_minor: _Optional[int] = ...) -> None: ...
