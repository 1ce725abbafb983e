"""The lines a calculation books: points paid split out of each line's discounts."""

from __future__ import annotations

import dataclasses

from server.api.servicers.calculate import calculated_lines
from server.pricing.bonus import BONUS_RULE_ID
from server.pricing.model import Discount, PricedLine, PricingResult
from server.receipts.calculation import CalculatedLine


def result(*lines: PricedLine, points: int = 0) -> PricingResult:
    subtotal = sum(x.base_amount for x in lines)
    total = sum(x.final_amount for x in lines)
    return PricingResult(lines, subtotal, subtotal - total, total, 0, 0, points, (), "v", 0, ())


PROMO = Discount("milk-10", "Milk", 100, "")
LINES = (PricedLine(1, "milk", 2000, 500, 1000, (PROMO,), 900),
         PricedLine(2, "bread", 1000, 700, 700, (), 700))


def test_without_points_paid_the_fast_path_makes_the_same_lines() -> None:
    fast = calculated_lines(result(*LINES), [9, 7])
    # the general path (taken whenever points were paid) on the very same lines
    general = calculated_lines(dataclasses.replace(result(*LINES), bonus_discount=1), [9, 7])
    assert fast == general == (CalculatedLine(1, "milk", 2000, 500, 1000, 100, 0, 900, 9),
                               CalculatedLine(2, "bread", 1000, 700, 700, 0, 0, 700, 7))
    assert all(type(x) is CalculatedLine for x in fast)
    assert fast[0].discount_minor == 100 and fast[1].accrual_points == 7


def test_points_paid_are_split_from_the_promotions() -> None:
    paid = Discount(BONUS_RULE_ID, "Bonus points", 50, "")
    lines = (dataclasses.replace(LINES[0], discounts=(PROMO, paid), final_amount=850), LINES[1])
    booked = calculated_lines(result(*lines, points=50), [0, 0])
    assert booked[0] == CalculatedLine(1, "milk", 2000, 500, 1000, 100, 50, 850, 0)
