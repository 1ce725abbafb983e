"""Pricing domain model: plain frozen values the gRPC adapter and the DB layer fill in.

Money is int minor units, quantities int thousandths (1000 = one piece or one kg).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from server.pricing.money import line_amount


@dataclass(frozen=True, slots=True)
class Product:
    """Catalog attributes that promotion rules can select on."""

    sku: str
    group: str | None = None
    subgroup: str | None = None
    brand: str | None = None
    supplier: str | None = None
    price_category: str | None = None
    barcodes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Catalog:
    """Products by SKU; an unknown SKU prices as a bare product (no group/brand rules)."""

    products: Mapping[str, Product]
    by_barcode: Mapping[str, Product] = field(init=False)

    def __post_init__(self) -> None:
        barcodes = {code: p for p in self.products.values() for code in p.barcodes}
        object.__setattr__(self, "by_barcode", barcodes)

    @classmethod
    def from_products(cls, products: Iterable[Product]) -> Catalog:
        """Build a catalog; a later duplicate SKU replaces an earlier one."""
        return cls({p.sku: p for p in products})

    def get(self, sku: str) -> Product | None:
        """The product for `sku`, or None when the catalog does not know it."""
        return self.products.get(sku)

    def resolve(self, line: ReceiptLine) -> Product:
        """Attributes for a line: precomputed ones win, then the catalog, then a bare SKU."""
        if line.product is not None:
            return line.product
        return self.products.get(line.sku) or Product(sku=line.sku)


@dataclass(frozen=True, slots=True)
class Store:
    """A point of sale and the networks (store groups, partners) it belongs to."""

    id: str
    network_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One receipt position as sent by the terminal."""

    line_no: int
    sku: str
    quantity_milli: int
    unit_price: int
    product: Product | None = None
    """Precomputed attributes (e.g. sent by the terminal); overrides the catalog."""

    @property
    def base_amount(self) -> int:
        """quantity x unit price, rounded half up to the kopeck."""
        return line_amount(self.quantity_milli, self.unit_price)


@dataclass(frozen=True, slots=True)
class PurchaseAggregate:
    """A member's confirmed purchases compacted per local day and store.

    One SQL GROUP BY (day, store_id) over the last `CompiledRuleSet.history_days` days,
    with array_agg(DISTINCT sku) and array_agg(DISTINCT group), fills the whole history.
    """

    day: date
    store_id: str
    amount: int
    skus: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MemberContext:
    """What the DB layer must load about the member before pricing.

    - `first_promo_purchase`: promotion id -> local date of the member's first receipt that
      got a discount from it (only ids in `CompiledRuleSet.tracked_promotions` are needed).
    - `purchases`: daily aggregates within `CompiledRuleSet.history_days`, excluding this
      receipt.
    - `lifetime_amount`: sum of all confirmed purchases ever (for "valid after accumulating X").
    - `points_balance`: spendable points, if known; caps `max_points_redeemable`.
    """

    member_id: str
    card_type: str | None = None
    first_promo_purchase: Mapping[str, date] = field(default_factory=dict)
    purchases: tuple[PurchaseAggregate, ...] = ()
    lifetime_amount: int = 0
    points_balance: int | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A receipt to price. `time` must be timezone-aware; 1 bonus point = 1 minor unit."""

    store_id: str
    time: datetime
    lines: tuple[ReceiptLine, ...]
    card_type: str | None = None
    member: MemberContext | None = None
    bonus_points_to_pay: int = 0
    coupons: frozenset[str] = frozenset()
    """Promotions unlocked by the accepted coupons presented (rules' `coupon:` condition)."""
    explain: bool = True
    """Format each discount's reason text; False leaves every `Discount.reason` empty (the
    rule id and `CompiledRuleSet.reason_codes` say what it is) and saves the formatting."""

    @property
    def effective_card_type(self) -> str | None:
        """The card presented at the till wins over the member's stored card type."""
        if self.card_type is not None:
            return self.card_type
        return self.member.card_type if self.member is not None else None


@dataclass(frozen=True, slots=True)
class Discount:
    """One rule's discount on one line, with the reason shown to the cashier (empty when
    the receipt did not ask for an explanation, `Receipt.explain`)."""

    rule_id: str
    rule_name: str
    amount: int
    reason: str


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A priced line: final = base - sum(discounts) >= 0."""

    line_no: int
    sku: str
    quantity_milli: int
    unit_price: int
    base_amount: int
    discounts: tuple[Discount, ...]
    final_amount: int

    @property
    def discount_amount(self) -> int:
        """Sum of this line's discounts."""
        return self.base_amount - self.final_amount


@dataclass(frozen=True, slots=True)
class PromotionHint:
    """A promotion the receipt nearly qualifies for: what is missing, and the cashier text."""

    rule_id: str
    message: str
    missing_quantity_milli: int = 0
    missing_amount: int = 0


@dataclass(frozen=True, slots=True)
class PricingResult:
    """Priced receipt. Invariants: sum(line.final_amount) == total, total == subtotal -
    discount_total, discount_total includes bonus_discount (points paid as discount)."""

    lines: tuple[PricedLine, ...]
    subtotal: int
    discount_total: int
    total: int
    points_to_accrue: int
    max_points_redeemable: int
    bonus_discount: int
    messages: tuple[str, ...]
    rule_set_version: str
    rules_evaluated: int
    applied_promotions: tuple[str, ...]
    """Promotion ids that gave a discount; the DB records first promotional purchases."""
    hints: tuple[PromotionHint, ...] = ()
    """Nearly qualifying promotions (their texts are in `messages` too)."""
