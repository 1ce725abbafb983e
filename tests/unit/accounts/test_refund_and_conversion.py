"""Refund and conversion arithmetic: exact, never negative, never minting value."""

from __future__ import annotations

import pytest

from server.accounts.allocation import allocate
from server.accounts.conversion import cash_to_points, points_to_cash
from server.accounts.refund import SoldLine, plan_refund, split_refund, withhold
from server.errors import DomainError

LINES = [SoldLine(1, 3000, 1000, 100, 101), SoldLine(2, 1500, 777, 7, 0)]


def test_partial_refunds_sum_to_the_full_amounts():
    done: dict[int, int] = {}
    money = points = returned = 0
    for qty in (1000, 1000, 1000):
        plan = plan_refund(LINES, done, [(1, qty)])
        money, points, returned = (money + plan.money_minor, points + plan.accrual_points,
                                   returned + plan.points_returned)
        done = plan.refunded_after
    assert (money, points, returned) == (1000, 100, 101)
    last = plan_refund(LINES, done, None)
    assert (last.money_minor, last.complete) == (777, True)


def test_bad_refund_lines_are_named():
    with pytest.raises(DomainError) as error:
        plan_refund(LINES, {}, [(9, 1), (1, 0), (2, 1501)])
    assert [v.field for v in error.value.violations] == [
        "lines[0].line_no", "lines[1].quantity_milli", "lines[2].quantity_milli"]


def test_split_and_withhold():
    assert split_refund(333, [1000, 777]) == [187, 146]  # 187.39, 145.61
    assert sum(allocate(7, [1, 1, 1])) == 7
    assert withhold([187, 146], [1, 0], 150) == [183, 0]


@pytest.mark.parametrize("amount", [1, 2, 3, 999, 1000, 12345])
def test_conversion_never_mints_value(amount: int):
    to_points = cash_to_points(amount, 3, 2)
    assert to_points.debited <= amount and to_points.credited * 3 <= to_points.debited * 2 + 2
    back = points_to_cash(to_points.credited, 3, 2)
    assert back.credited <= to_points.debited
