"""Mutable per-receipt working state of the engine (never leaves `price_receipt`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from server.pricing.model import Discount, MemberContext, Product, ReceiptLine, Store


@dataclass(slots=True)
class LineState:
    """A line being priced: `remaining` is what is still payable after applied discounts."""

    index: int
    line: ReceiptLine
    product: Product
    base: int
    remaining: int
    discounts: list[Discount] = field(default_factory=list)
    locked: bool = False
    """Set by an exclusive rule: no further rule discounts on this line."""


@dataclass(frozen=True, slots=True)
class EvalContext:
    """Everything conditions look at, computed once per receipt."""

    local_time: datetime
    today: date
    store: Store
    card_type: str | None
    member: MemberContext | None
    stores: Mapping[str, Store]
    lines: tuple[LineState, ...]

    def networks_of(self, store_id: str) -> frozenset[str]:
        """Networks of any store (unknown stores belong to none)."""
        known = self.stores.get(store_id)
        return known.network_ids if known is not None else frozenset()
