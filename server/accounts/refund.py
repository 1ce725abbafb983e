"""Refund arithmetic: exact to the kopeck and the point, however a receipt is split up.

Each line's money, accrued points and redeemed points are refunded *cumulatively*:
after refunding qc of Q units, floor(amount x qc / Q) has gone back in total. A step
returns the difference, so partial refunds never drift and the last one returns exactly
what is left. Money goes back over the original payments by largest remainder of what each
payment still has unrefunded, so a full refund returns every payment exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.accounts.allocation import allocate
from server.errors import DomainError, ErrorKind, Violations


@dataclass(frozen=True, slots=True)
class SoldLine:
    """A confirmed line: what can be refunded and what it earned and spent."""

    line_no: int
    quantity_milli: int
    final_amount_minor: int
    accrual_points: int
    points_discount: int


@dataclass(frozen=True, slots=True)
class RefundPlan:
    """One refund step: amounts to return now and the new refunded quantities."""

    money_minor: int
    accrual_points: int
    points_returned: int
    refunded_after: dict[int, int]
    complete: bool


def _cumulative(amount: int, done: int, total: int) -> int:
    return amount * done // total


def plan_refund(
    lines: list[SoldLine], refunded: dict[int, int],
    request: list[tuple[int, int]] | None,
) -> RefundPlan:
    """Plan refunding `request` [(line_no, quantity_milli)], or everything left when None."""
    by_no = {x.line_no: x for x in lines}
    wanted: dict[int, int] = {}
    if request is None:
        wanted = {x.line_no: x.quantity_milli - refunded.get(x.line_no, 0) for x in lines}
        wanted = {k: v for k, v in wanted.items() if v > 0}
    else:
        errors = Violations()
        for i, (line_no, quantity) in enumerate(request):
            line = by_no.get(line_no)
            if line is None:
                errors.add(f"lines[{i}].line_no", "no such line on the receipt")
            elif line_no in wanted:
                errors.add(f"lines[{i}].line_no", "line given twice")
            elif quantity <= 0:
                errors.add(f"lines[{i}].quantity_milli", "must be positive")
            elif quantity > line.quantity_milli - refunded.get(line_no, 0):
                left = line.quantity_milli - refunded.get(line_no, 0)
                errors.add(f"lines[{i}].quantity_milli",
                           f"more than the {left} thousandths not yet refunded")
            else:
                wanted[line_no] = quantity
        errors.raise_if_any()
    if not wanted:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "RECEIPT_ALREADY_REFUNDED",
                          "nothing is left to refund on this receipt")
    money = accrual = returned = 0
    after = dict(refunded)
    for line_no, quantity in wanted.items():
        line = by_no[line_no]
        before = refunded.get(line_no, 0)
        now = before + quantity
        q = line.quantity_milli
        money += (_cumulative(line.final_amount_minor, now, q)
                  - _cumulative(line.final_amount_minor, before, q))
        accrual += (_cumulative(line.accrual_points, now, q)
                    - _cumulative(line.accrual_points, before, q))
        returned += (_cumulative(line.points_discount, now, q)
                     - _cumulative(line.points_discount, before, q))
        after[line_no] = now
    complete = all(after.get(x.line_no, 0) >= x.quantity_milli for x in lines)
    return RefundPlan(money, accrual, returned, after, complete)


def split_refund(amount: int, unrefunded: list[int]) -> list[int]:
    """Money back per payment: proportional to what each still has unrefunded."""
    if amount > sum(unrefunded):
        raise ValueError("refund exceeds the unrefunded payments")
    return allocate(amount, unrefunded)


def withhold(shares: list[int], order: list[int], amount: int) -> list[int]:
    """Take `amount` off `shares`, exhausting them in `order` (indexes); returns the net."""
    net = list(shares)
    for index in order:
        take = min(net[index], amount)
        net[index] -= take
        amount -= take
    if amount:
        raise ValueError("cannot withhold more than the refund")
    return net
