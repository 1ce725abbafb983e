import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PrincipalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRINCIPAL_KIND_UNSPECIFIED: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_TERMINAL: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_STORE_BACKEND: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_OPERATOR: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_INTEGRATOR: _ClassVar[PrincipalKind]

class RuleSetFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RULE_SET_FORMAT_UNSPECIFIED: _ClassVar[RuleSetFormat]
    RULE_SET_FORMAT_YAML: _ClassVar[RuleSetFormat]
    RULE_SET_FORMAT_JSON: _ClassVar[RuleSetFormat]
PRINCIPAL_KIND_UNSPECIFIED: PrincipalKind
PRINCIPAL_KIND_TERMINAL: PrincipalKind
PRINCIPAL_KIND_STORE_BACKEND: PrincipalKind
PRINCIPAL_KIND_OPERATOR: PrincipalKind
PRINCIPAL_KIND_INTEGRATOR: PrincipalKind
RULE_SET_FORMAT_UNSPECIFIED: RuleSetFormat
RULE_SET_FORMAT_YAML: RuleSetFormat
RULE_SET_FORMAT_JSON: RuleSetFormat

class Store(_message.Message):
    __slots__ = ("code", "name", "network_codes", "time_zone")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_CODES_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    network_codes: _containers.RepeatedScalarFieldContainer[str]
    time_zone: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., network_codes: _Optional[_Iterable[str]] = ..., time_zone: _Optional[str] = ...) -> None: ...

class UpsertStoreRequest(_message.Message):
    __slots__ = ("store",)
    STORE_FIELD_NUMBER: _ClassVar[int]
    store: Store
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ...) -> None: ...

class UpsertStoreResponse(_message.Message):
    __slots__ = ("store",)
    STORE_FIELD_NUMBER: _ClassVar[int]
    store: Store
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ...) -> None: ...

class ListStoresRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStoresResponse(_message.Message):
    __slots__ = ("stores",)
    STORES_FIELD_NUMBER: _ClassVar[int]
    stores: _containers.RepeatedCompositeFieldContainer[Store]
    def __init__(self, stores: _Optional[_Iterable[_Union[Store, _Mapping]]] = ...) -> None: ...

class CardType(_message.Message):
    __slots__ = ("code", "name", "accrual_bps", "number_prefix", "requires_verification")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACCRUAL_BPS_FIELD_NUMBER: _ClassVar[int]
    NUMBER_PREFIX_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    accrual_bps: int
    number_prefix: str
    requires_verification: bool
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., accrual_bps: _Optional[int] = ..., number_prefix: _Optional[str] = ..., requires_verification: _Optional[bool] = ...) -> None: ...

class UpsertCardTypeRequest(_message.Message):
    __slots__ = ("card_type",)
    CARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    card_type: CardType
    def __init__(self, card_type: _Optional[_Union[CardType, _Mapping]] = ...) -> None: ...

class UpsertCardTypeResponse(_message.Message):
    __slots__ = ("card_type",)
    CARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    card_type: CardType
    def __init__(self, card_type: _Optional[_Union[CardType, _Mapping]] = ...) -> None: ...

class ListCardTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCardTypesResponse(_message.Message):
    __slots__ = ("card_types",)
    CARD_TYPES_FIELD_NUMBER: _ClassVar[int]
    card_types: _containers.RepeatedCompositeFieldContainer[CardType]
    def __init__(self, card_types: _Optional[_Iterable[_Union[CardType, _Mapping]]] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("sku", "name", "group_code", "subgroup_code", "brand", "supplier_code", "price_category", "barcodes")
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_CODE_FIELD_NUMBER: _ClassVar[int]
    SUBGROUP_CODE_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_CODE_FIELD_NUMBER: _ClassVar[int]
    PRICE_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    BARCODES_FIELD_NUMBER: _ClassVar[int]
    sku: str
    name: str
    group_code: str
    subgroup_code: str
    brand: str
    supplier_code: str
    price_category: str
    barcodes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sku: _Optional[str] = ..., name: _Optional[str] = ..., group_code: _Optional[str] = ..., subgroup_code: _Optional[str] = ..., brand: _Optional[str] = ..., supplier_code: _Optional[str] = ..., price_category: _Optional[str] = ..., barcodes: _Optional[_Iterable[str]] = ...) -> None: ...

class UpsertProductsRequest(_message.Message):
    __slots__ = ("products",)
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ...) -> None: ...

class UpsertProductsResponse(_message.Message):
    __slots__ = ("saved_count",)
    SAVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    saved_count: int
    def __init__(self, saved_count: _Optional[int] = ...) -> None: ...

class ApplyRuleSetRequest(_message.Message):
    __slots__ = ("document", "format")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    document: str
    format: RuleSetFormat
    def __init__(self, document: _Optional[str] = ..., format: _Optional[_Union[RuleSetFormat, str]] = ...) -> None: ...

class ApplyRuleSetResponse(_message.Message):
    __slots__ = ("version", "rule_count")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULE_COUNT_FIELD_NUMBER: _ClassVar[int]
    version: str
    rule_count: int
    def __init__(self, version: _Optional[str] = ..., rule_count: _Optional[int] = ...) -> None: ...

class CreateApiKeyRequest(_message.Message):
    __slots__ = ("name", "kind", "store_code", "terminal_id", "roles", "network_code")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STORE_CODE_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    NETWORK_CODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: PrincipalKind
    store_code: str
    terminal_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    network_code: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[PrincipalKind, str]] = ..., store_code: _Optional[str] = ..., terminal_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., network_code: _Optional[str] = ...) -> None: ...

class CreateApiKeyResponse(_message.Message):
    __slots__ = ("key_id", "secret", "create_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    secret: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., secret: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EchoRequest(_message.Message):
    __slots__ = ("payload",)
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    def __init__(self, payload: _Optional[bytes] = ...) -> None: ...

class EchoResponse(_message.Message):
    __slots__ = ("payload", "principal")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    principal: str
    def __init__(self, payload: _Optional[bytes] = ..., principal: _Optional[str] = ...) -> None: ...
