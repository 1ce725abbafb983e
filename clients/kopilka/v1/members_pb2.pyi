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

class RegistrationChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGISTRATION_CHANNEL_UNSPECIFIED: _ClassVar[RegistrationChannel]
    REGISTRATION_CHANNEL_OPERATOR: _ClassVar[RegistrationChannel]
    REGISTRATION_CHANNEL_WEB_CABINET: _ClassVar[RegistrationChannel]
    REGISTRATION_CHANNEL_PAPER_QUESTIONNAIRE: _ClassVar[RegistrationChannel]
    REGISTRATION_CHANNEL_POS: _ClassVar[RegistrationChannel]

class Gender(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENDER_UNSPECIFIED: _ClassVar[Gender]
    GENDER_FEMALE: _ClassVar[Gender]
    GENDER_MALE: _ClassVar[Gender]

class MaritalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MARITAL_STATUS_UNSPECIFIED: _ClassVar[MaritalStatus]
    MARITAL_STATUS_SINGLE: _ClassVar[MaritalStatus]
    MARITAL_STATUS_MARRIED: _ClassVar[MaritalStatus]

class CardState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARD_STATE_UNSPECIFIED: _ClassVar[CardState]
    CARD_STATE_NEW: _ClassVar[CardState]
    CARD_STATE_ACTIVE: _ClassVar[CardState]
    CARD_STATE_BLOCKED: _ClassVar[CardState]
    CARD_STATE_CLOSED: _ClassVar[CardState]
    CARD_STATE_COMPLETED: _ClassVar[CardState]
REGISTRATION_CHANNEL_UNSPECIFIED: RegistrationChannel
REGISTRATION_CHANNEL_OPERATOR: RegistrationChannel
REGISTRATION_CHANNEL_WEB_CABINET: RegistrationChannel
REGISTRATION_CHANNEL_PAPER_QUESTIONNAIRE: RegistrationChannel
REGISTRATION_CHANNEL_POS: RegistrationChannel
GENDER_UNSPECIFIED: Gender
GENDER_FEMALE: Gender
GENDER_MALE: Gender
MARITAL_STATUS_UNSPECIFIED: MaritalStatus
MARITAL_STATUS_SINGLE: MaritalStatus
MARITAL_STATUS_MARRIED: MaritalStatus
CARD_STATE_UNSPECIFIED: CardState
CARD_STATE_NEW: CardState
CARD_STATE_ACTIVE: CardState
CARD_STATE_BLOCKED: CardState
CARD_STATE_CLOSED: CardState
CARD_STATE_COMPLETED: CardState

class MemberProfile(_message.Message):
    __slots__ = ("first_name", "last_name", "middle_name", "gender", "birth_date", "marital_status", "address", "phone", "email", "social_ids")
    class SocialIdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    MIDDLE_NAME_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    MARITAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_IDS_FIELD_NUMBER: _ClassVar[int]
    first_name: str
    last_name: str
    middle_name: str
    gender: Gender
    birth_date: str
    marital_status: MaritalStatus
    address: str
    phone: str
    email: str
    social_ids: _containers.ScalarMap[str, str]
    def __init__(self, first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., middle_name: _Optional[str] = ..., gender: _Optional[_Union[Gender, str]] = ..., birth_date: _Optional[str] = ..., marital_status: _Optional[_Union[MaritalStatus, str]] = ..., address: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., social_ids: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Card(_message.Message):
    __slots__ = ("number", "card_type", "state", "member_id", "replaces_number", "create_time")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    REPLACES_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    number: str
    card_type: str
    state: CardState
    member_id: str
    replaces_number: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, number: _Optional[str] = ..., card_type: _Optional[str] = ..., state: _Optional[_Union[CardState, str]] = ..., member_id: _Optional[str] = ..., replaces_number: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("member_id", "profile", "registration_channel", "cards", "create_time")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CARDS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    profile: MemberProfile
    registration_channel: RegistrationChannel
    cards: _containers.RepeatedCompositeFieldContainer[Card]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, member_id: _Optional[str] = ..., profile: _Optional[_Union[MemberProfile, _Mapping]] = ..., registration_channel: _Optional[_Union[RegistrationChannel, str]] = ..., cards: _Optional[_Iterable[_Union[Card, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterMemberRequest(_message.Message):
    __slots__ = ("request_id", "profile", "channel", "issue_card_type")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ISSUE_CARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    profile: MemberProfile
    channel: RegistrationChannel
    issue_card_type: str
    def __init__(self, request_id: _Optional[str] = ..., profile: _Optional[_Union[MemberProfile, _Mapping]] = ..., channel: _Optional[_Union[RegistrationChannel, str]] = ..., issue_card_type: _Optional[str] = ...) -> None: ...

class RegisterMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: Member
    def __init__(self, member: _Optional[_Union[Member, _Mapping]] = ...) -> None: ...

class GetMemberRequest(_message.Message):
    __slots__ = ("member_id",)
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    def __init__(self, member_id: _Optional[str] = ...) -> None: ...

class GetMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: Member
    def __init__(self, member: _Optional[_Union[Member, _Mapping]] = ...) -> None: ...

class FindMemberRequest(_message.Message):
    __slots__ = ("card_number", "phone", "email")
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    card_number: str
    phone: str
    email: str
    def __init__(self, card_number: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class FindMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: Member
    def __init__(self, member: _Optional[_Union[Member, _Mapping]] = ...) -> None: ...

class UpdateMemberProfileRequest(_message.Message):
    __slots__ = ("request_id", "member_id", "profile", "update_fields", "source")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELDS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member_id: str
    profile: MemberProfile
    update_fields: _containers.RepeatedScalarFieldContainer[str]
    source: str
    def __init__(self, request_id: _Optional[str] = ..., member_id: _Optional[str] = ..., profile: _Optional[_Union[MemberProfile, _Mapping]] = ..., update_fields: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ...) -> None: ...

class UpdateMemberProfileResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: Member
    def __init__(self, member: _Optional[_Union[Member, _Mapping]] = ...) -> None: ...

class IssueCardRequest(_message.Message):
    __slots__ = ("request_id", "member_id", "card_type", "activate")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member_id: str
    card_type: str
    activate: bool
    def __init__(self, request_id: _Optional[str] = ..., member_id: _Optional[str] = ..., card_type: _Optional[str] = ..., activate: _Optional[bool] = ...) -> None: ...

class IssueCardResponse(_message.Message):
    __slots__ = ("card",)
    CARD_FIELD_NUMBER: _ClassVar[int]
    card: Card
    def __init__(self, card: _Optional[_Union[Card, _Mapping]] = ...) -> None: ...

class ChangeCardStateRequest(_message.Message):
    __slots__ = ("request_id", "card_number", "state", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_number: str
    state: CardState
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., card_number: _Optional[str] = ..., state: _Optional[_Union[CardState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ChangeCardStateResponse(_message.Message):
    __slots__ = ("card",)
    CARD_FIELD_NUMBER: _ClassVar[int]
    card: Card
    def __init__(self, card: _Optional[_Union[Card, _Mapping]] = ...) -> None: ...

class ReplaceCardRequest(_message.Message):
    __slots__ = ("request_id", "card_number", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    card_number: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., card_number: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReplaceCardResponse(_message.Message):
    __slots__ = ("old_card", "new_card")
    OLD_CARD_FIELD_NUMBER: _ClassVar[int]
    NEW_CARD_FIELD_NUMBER: _ClassVar[int]
    old_card: Card
    new_card: Card
    def __init__(self, old_card: _Optional[_Union[Card, _Mapping]] = ..., new_card: _Optional[_Union[Card, _Mapping]] = ...) -> None: ...

class ListPurchasesRequest(_message.Message):
    __slots__ = ("member_id", "page")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    page: _common_pb2.PageRequest
    def __init__(self, member_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class Purchase(_message.Message):
    __slots__ = ("receipt_id", "store_code", "receipt_number", "total", "discount_total", "confirm_time", "card_number")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    store_code: str
    receipt_number: str
    total: _common_pb2.Money
    discount_total: _common_pb2.Money
    confirm_time: _timestamp_pb2.Timestamp
    card_number: str
    def __init__(self, receipt_id: _Optional[str] = ..., store_code: _Optional[str] = ..., receipt_number: _Optional[str] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., discount_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., card_number: _Optional[str] = ...) -> None: ...

class ListPurchasesResponse(_message.Message):
    __slots__ = ("purchases", "page")
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    purchases: _containers.RepeatedCompositeFieldContainer[Purchase]
    page: _common_pb2.PageInfo
    def __init__(self, purchases: _Optional[_Iterable[_Union[Purchase, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...
