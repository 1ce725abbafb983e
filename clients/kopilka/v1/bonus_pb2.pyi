import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
    __slots__ = ("points_available", "points_pending", "cash_balance_minor", "lots")
    POINTS_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    POINTS_PENDING_FIELD_NUMBER: _ClassVar[int]
    CASH_BALANCE_MINOR_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    points_available: int
    points_pending: int
    cash_balance_minor: int
    lots: _containers.RepeatedCompositeFieldContainer[PointsLot]
    def __init__(self, points_available: _Optional[int] = ..., points_pending: _Optional[int] = ..., cash_balance_minor: _Optional[int] = ..., lots: _Optional[_Iterable[_Union[PointsLot, _Mapping]]] = ...) -> None: ...

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
