"""A priced receipt as a signed, self-contained token: the calculation_id.

CalculateReceipt writes nothing, yet ConfirmReceipt must commit exactly what was shown to
the customer. So the calculation travels to the terminal and back, signed by the server:
any worker can confirm it, and nobody can alter a price on the way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from operator import itemgetter
from typing import Any, NamedTuple

from server.errors import DomainError, ErrorKind
from server.security.signing import Signer

PURPOSE = "calculation/v1"
MAX_AGE = dt.timedelta(hours=24)
# Version 2 tokens (binary) are server/api/calculation_token.py's: a wire format.


class CalculatedLine(NamedTuple):
    """One priced line; amounts in minor units, quantity in thousandths.

    base = discount + points_discount + final. accrual_points is this line's share of the
    receipt's points, kept so a partial refund can take back exactly the right points.
    A NamedTuple, not a dataclass: a receipt makes dozens per call and a tuple is built
    (and JSON-encoded, positionally) in C.
    """

    line_no: int
    sku: str
    quantity_milli: int
    unit_price_minor: int
    base_amount_minor: int
    discount_minor: int
    points_discount_minor: int
    final_amount_minor: int
    accrual_points: int = 0


_BASE, _FINAL, _ACCRUAL = itemgetter(4), itemgetter(7), itemgetter(8)
"""CalculatedLine's base_amount_minor, final_amount_minor and accrual_points."""


@dataclass(frozen=True, slots=True)
class Calculation:
    """Everything ConfirmReceipt needs to write a receipt without pricing it again."""

    calculation_id: str
    store_code: str
    terminal_id: str
    currency: str
    receipt_time: dt.datetime
    rule_set_version: str
    lines: tuple[CalculatedLine, ...]
    subtotal_minor: int
    discount_total_minor: int
    total_minor: int
    points_to_accrue: int
    points_redeemed: int
    created_at: dt.datetime
    card_number: str | None = None
    member_id: str | None = None
    card_type: str | None = None
    messages: tuple[str, ...] = field(default=())
    # Points lots to create on confirm: (points, activation ISO time, expiry ISO time or None,
    # accrual rule id). Their points add up to points_to_accrue.
    accrual_lots: tuple[tuple[int, str, str | None, str], ...] = field(default=())
    # Promotions that discounted this receipt: confirm records the member's first use.
    applied_promotions: tuple[str, ...] = field(default=())
    # Coupons whose promotion discounted this receipt, (coupon id, code): confirm spends each
    # once, in its one call (docs/coupons.md).
    coupons: tuple[tuple[str, str], ...] = field(default=())
    # Each rule's discount on each line, (line_no, rule id, minor units), points paid not
    # included: the receipt keeps them so discounts can be reported per rule.
    line_discounts: tuple[tuple[int, str, int], ...] = field(default=())

    def check_totals(self) -> None:
        """The arithmetic every receipt must satisfy, to the kopeck; ValueError if broken.
        (Sums by `map` over the tuples' fields and tuple unpacking per line: it runs on every
        CalculateReceipt.)"""
        problems = []
        lines = self.lines
        if sum(map(_BASE, lines)) != self.subtotal_minor:
            problems.append("line bases do not add up to the subtotal")
        if sum(map(_FINAL, lines)) != self.total_minor:
            problems.append("line finals do not add up to the total")
        if self.subtotal_minor - self.discount_total_minor != self.total_minor:
            problems.append("subtotal - discounts != total")
        for line_no, _, _, _, base, discount, points, final, _ in lines:
            if discount + points + final != base or final < 0 or discount < 0 or points < 0:
                problems.append(f"line {line_no} does not add up")
        if sum(map(_ACCRUAL, lines)) != self.points_to_accrue:
            problems.append("line accruals do not add up to points_to_accrue")
        if self.accrual_lots and sum(lot[0] for lot in self.accrual_lots) != self.points_to_accrue:
            problems.append("accrual lots do not add up to points_to_accrue")
        if problems:
            raise ValueError("; ".join(problems))


_CALC_FIELDS = tuple(f.name for f in fields(Calculation))


def _to_json(calc: Calculation) -> dict[str, Any]:
    """Plain JSON values, built field by field: dataclasses.asdict deep-copies recursively
    and cost most of CalculateReceipt's time."""
    data: dict[str, Any] = {name: getattr(calc, name) for name in _CALC_FIELDS}
    data["receipt_time"] = calc.receipt_time.isoformat()
    data["created_at"] = calc.created_at.isoformat()
    # lines stay tuples: JSON arrays, positional
    return data


def _from_json(data: dict[str, Any]) -> Calculation:
    data = dict(data)
    data["receipt_time"] = dt.datetime.fromisoformat(data["receipt_time"])
    data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
    data["lines"] = tuple(CalculatedLine._make(values) for values in data["lines"])
    data["messages"] = tuple(data.get("messages", ()))
    data["accrual_lots"] = tuple(tuple(lot) for lot in data.get("accrual_lots", ()))
    data["applied_promotions"] = tuple(data.get("applied_promotions", ()))
    data["coupons"] = tuple(tuple(c) for c in data.get("coupons", ()))
    data["line_discounts"] = tuple(tuple(d) for d in data.get("line_discounts", ()))
    return Calculation(**data)


def encode_calculation_v1(signer: Signer, calc: Calculation) -> str:
    """A version 1 (JSON) calculation_id: what servers before version 2 handed out
    (server/api/calculation_token.py issues version 2); kept for the transition test and
    bench_calculate_stages.py's before/after."""
    calc.check_totals()
    return signer.sign(PURPOSE, _to_json(calc))


def read_calculation_v1(signer: Signer, token: str, field_path: str) -> Calculation:
    """The calculation behind a genuine version 1 token (base64 JSON "." base64 MAC)."""
    return _from_json(signer.verify(PURPOSE, token, field_path))


def check_age(calc: Calculation, now: dt.datetime) -> Calculation:
    """`calc`, unless it is older than MAX_AGE."""
    if now - calc.created_at > MAX_AGE:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "CALCULATION_EXPIRED",
                          "the calculation is older than 24 hours; calculate the receipt again")
    return calc
