"""What-if: price past receipts with a candidate rule set and add up what it would have given.

Pure: the caller streams `PastReceipt`s (the DB layer reads them in keyset pages) and
`WhatIfTotals.add` prices each one in memory with the compiled candidate, exactly as
CalculateReceipt would (without the member's purchase history: history conditions see
none). Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from server.pricing.bonus import BONUS_RULE_ID
from server.pricing.compiler import CompiledRuleSet
from server.pricing.engine import price_receipt
from server.pricing.model import Catalog, PricingResult, Receipt, ReceiptLine, Store


@dataclass(frozen=True, slots=True)
class PastReceipt:
    """A confirmed receipt as stored: its lines at shelf price and what it actually got."""

    receipt_id: str
    store_code: str
    time: datetime
    card_type: str | None
    lines: tuple[ReceiptLine, ...]
    actual_discount: int
    """Promotion discounts actually given (points paid are not a promotion)."""
    actual_points: int


@dataclass(slots=True)
class RuleTotals:
    """One rule's would-be effect."""

    discount: int = 0
    receipts: int = 0


PointsOf = Callable[[PastReceipt, PricingResult], int]
"""Points the receipt would earn after the candidate's discounts (the active bonus rules)."""


@dataclass(slots=True)
class WhatIfTotals:
    """Running totals; `add` one receipt at a time."""

    receipts: int = 0
    lines: int = 0
    affected: int = 0
    """Receipts whose discount would differ from what they actually got."""
    discount: int = 0
    actual_discount: int = 0
    points: int = 0
    actual_points: int = 0
    skipped: int = 0
    """Receipts stored before shelf prices were kept with their lines."""
    per_rule: dict[str, RuleTotals] = field(default_factory=dict)

    def add(self, rules: CompiledRuleSet, catalog: Catalog, stores: Mapping[str, Store],
            past: PastReceipt, points_of: PointsOf) -> None:
        """Price one past receipt with the candidate and count it."""
        result = price_receipt(rules, catalog, stores, Receipt(
            past.store_code, past.time, past.lines, card_type=past.card_type, explain=False))
        self.receipts += 1
        self.lines += len(past.lines)
        self.discount += result.discount_total
        self.actual_discount += past.actual_discount
        self.points += points_of(past, result)
        self.actual_points += past.actual_points
        if result.discount_total != past.actual_discount:
            self.affected += 1
        seen: dict[str, int] = {}
        for line in result.lines:
            for d in line.discounts:
                if d.rule_id != BONUS_RULE_ID:
                    seen[d.rule_id] = seen.get(d.rule_id, 0) + d.amount
        for rule_id, amount in seen.items():
            totals = self.per_rule.get(rule_id)
            if totals is None:
                totals = self.per_rule[rule_id] = RuleTotals()
            totals.discount += amount
            totals.receipts += 1

    @property
    def difference(self) -> int:
        """Would-be discount minus the discount actually given (positive: more generous)."""
        return self.discount - self.actual_discount
