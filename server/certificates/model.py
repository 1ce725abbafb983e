"""Certificate types, certificates and ledger entries as the domain sees them."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum


class CertificateKind(StrEnum):
    """"As money" (a balance to pay with) or "as a product" (exchanged for goods)."""

    MONEY = "money"
    PRODUCT = "product"


class CertificateState(StrEnum):
    """Lifecycle: printed (new) -> sold (active) -> used up, expired, blocked or closed."""

    NEW = "new"
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    BLOCKED = "blocked"
    CLOSED = "closed"


class BarcodeFormat(StrEnum):
    """Symbology of the numbers printed on certificates."""

    EAN13 = "ean13"
    CODE128 = "code128"


class RemainderPolicy(StrEnum):
    """What happens to the unspent part after a purchase."""

    KEEP = "keep"
    FORFEIT = "forfeit"


class ExpiredRefundPolicy(StrEnum):
    """What a refund does to a certificate that is past its validity."""

    REACTIVATE = "reactivate"
    FORFEIT = "forfeit"


class EntryKind(StrEnum):
    """Why a ledger entry was written; the amounts of a certificate sum to its balance."""

    ISSUE = "issue"
    REDEEM = "redeem"
    FORFEIT = "forfeit"
    REFUND = "refund"
    EXPIRE = "expire"
    REISSUE_OUT = "reissue_out"
    REISSUE_IN = "reissue_in"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class CertificateTypeInfo:
    """A kind of certificate: face values, number series, validity and policies."""

    code: str
    name: str
    kind: CertificateKind
    currency: str
    denominations: tuple[int, ...] = ()
    barcode_format: BarcodeFormat = BarcodeFormat.EAN13
    number_prefix: str = ""
    remainder_policy: RemainderPolicy = RemainderPolicy.KEEP
    valid_days: int = 0
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    expired_refund_policy: ExpiredRefundPolicy = ExpiredRefundPolicy.REACTIVATE
    refund_extension_days: int = 30
    product_skus: tuple[str, ...] = ()
    product_groups: tuple[str, ...] = ()
    template: str = ""
    # Face values that may be issued: min..max on the step (0 = not given: see
    # validation.with_face_value_defaults, which every stored type has been through).
    min_denomination_minor: int = 0
    max_denomination_minor: int = 0
    denomination_step_minor: int = 0


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """One certificate as stored (its `state` is the stored one, see validity.effective_state)."""

    id: int
    number: str
    type_code: str
    kind: CertificateKind
    currency: str
    state: CertificateState
    denomination_minor: int
    balance_minor: int
    remainder_policy: RemainderPolicy
    store_code: str | None = None
    activated_at: dt.datetime | None = None
    valid_from: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    replaces_number: str | None = None
    replaced_by_number: str | None = None


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """One append-only ledger entry of a certificate."""

    kind: EntryKind
    amount_minor: int
    balance_after_minor: int
    created_at: dt.datetime
    receipt_id: uuid.UUID | None = None
    store_code: str | None = None
    sku: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class NewCertificate:
    """A certificate about to be written by an issue, activation or reissue."""

    number: str
    state: CertificateState
    denomination_minor: int
    balance_minor: int
    store_code: str | None
    activated_at: dt.datetime | None
    valid_from: dt.datetime | None
    expires_at: dt.datetime | None
    replaces_number: str | None = None


@dataclass(slots=True)
class UsageRow:
    """One store's certificate activity in one currency over a period (see the report RPC)."""

    store_code: str
    currency: str
    issued_count: int = 0
    issued_minor: int = 0
    redeemed_minor: int = 0
    refunded_minor: int = 0
    forfeited_minor: int = 0
    expired_minor: int = 0
    expired_count: int = 0
    outstanding_minor: int = 0
    outstanding_count: int = 0
