"""Mutable per-receipt working state of the engine (never leaves `price_receipt`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from server.pricing.model import Discount, MemberContext, Product, ReceiptLine, Store


class LineState:
    """A line being priced: `remaining` is what is still payable after applied discounts.

    A plain slots class rather than a dataclass: 20 of these are built per receipt and a
    hand-written `__init__` costs about half as much.
    """

    __slots__ = ("base", "discounts", "index", "line", "locked", "product", "remaining")

    def __init__(
        self, index: int, line: ReceiptLine, product: Product, base: int, remaining: int
    ) -> None:
        self.index = index
        self.line = line
        self.product = product
        self.base = base
        self.remaining = remaining
        self.discounts: list[Discount] = []
        self.locked = False
        """Set by an exclusive rule: no further rule discounts on this line."""


class EvalContext:
    """Everything conditions look at, computed once per receipt (read-only by convention;
    a plain slots class because one is built per receipt)."""

    __slots__ = (
        "card_type",
        "coupons",
        "explain",
        "lines",
        "local_time",
        "member",
        "store",
        "stores",
        "subtotal",
        "today",
    )

    def __init__(
        self,
        local_time: datetime,
        today: date,
        store: Store,
        card_type: str | None,
        member: MemberContext | None,
        stores: Mapping[str, Store],
        lines: tuple[LineState, ...],
        coupons: frozenset[str] = frozenset(),
        explain: bool = True,
    ) -> None:
        self.local_time = local_time
        self.today = today
        self.store = store
        self.card_type = card_type
        self.member = member
        self.stores = stores
        self.lines = lines
        self.coupons = coupons
        """Promotions unlocked by the receipt's accepted coupons."""
        self.explain = explain
        """Whether discounts get their reason texts (`Receipt.explain`)."""
        self.subtotal = sum([s.base for s in lines])
        """Sum of the line amounts before any discount."""

    def networks_of(self, store_id: str) -> frozenset[str]:
        """Networks of any store (unknown stores belong to none)."""
        known = self.stores.get(store_id)
        return known.network_ids if known is not None else frozenset()
