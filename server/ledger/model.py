"""What the ledger is asked to do and what it answers, as plain values.

A call is identified by its Claim (the caller's key, its request id, the method and a digest
of the request); the store claims it, does the work and keeps the result under it in one
transaction, so a retry gets the first result back. Results are values, not protobuf: the API
builds its answer from them the same way the first time and on every retry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from server.accounts.accrual import Lot
from server.receipts.calculation import Calculation

# Payment methods as stored; refunds withhold a points shortfall from till money first.
TILL_METHODS = ("cash", "bank_card", "online")
WITHHOLD_ORDER = (*TILL_METHODS, "cash_account", "certificate")


@dataclass(frozen=True, slots=True)
class Claim:
    """What identifies one mutating call: the caller, its request id, method, request digest.

    Request ids are the caller's own: the same id from another key is another request.
    """

    principal_id: uuid.UUID
    request_id: uuid.UUID
    method: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class PaymentIn:
    """One payment of a receipt: method (see WITHHOLD_ORDER), amount, certificate number."""

    method: str
    amount_minor: int
    certificate_number: str = ""


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A booked receipt, as the first call answered it."""

    receipt_id: str
    points_accrued: int
    points_redeemed: int
    points_balance: int
    confirm_time: dt.datetime


@dataclass(frozen=True, slots=True)
class Redeemed:
    """Points spent by RedeemBonus, as the first call answered it."""

    transaction_id: str
    points_balance: int


@dataclass(frozen=True, slots=True)
class Legacy:
    """The answer of a call made before results were kept as values: its protobuf bytes."""

    answer: bytes


class Refusal(Exception):
    """The store refused the work and wrote nothing: a ledger code (see server/db/ledger
    migration 0013: KL001...) and what it knows of why, for the service to explain."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


def calculation_lots(calc: Calculation) -> list[Lot]:
    """The lots the calculation promised; a lone active lot when it carried none."""
    if not calc.accrual_lots:
        return ([Lot(calc.points_to_accrue, calc.receipt_time, None, "")]
                if calc.points_to_accrue else [])
    return [Lot(points, dt.datetime.fromisoformat(act),
                dt.datetime.fromisoformat(exp) if exp else None, rule_id)
            for points, act, exp, rule_id in calc.accrual_lots if points > 0]


def receipt_document(calc: Calculation, receipt_id: uuid.UUID, tx_id: uuid.UUID, number: str,
                     payments: list[PaymentIn], content_hash: bytes, principal: str
                     ) -> dict[str, Any]:
    """Everything the store books for a receipt, with named fields, as JSON values."""
    member = calc.member_id or None
    by_line: dict[int, dict[str, int]] = {}
    for line_no, rule, amount in calc.line_discounts:
        rules = by_line.setdefault(line_no, {})
        rules[rule] = rules.get(rule, 0) + amount
    return {
        "receipt_id": str(receipt_id), "tx_id": str(tx_id),
        "store_code": calc.store_code, "terminal_id": calc.terminal_id,
        "receipt_number": number, "member_id": member, "card_number": calc.card_number,
        "currency": calc.currency, "subtotal_minor": calc.subtotal_minor,
        "discount_total_minor": calc.discount_total_minor, "total_minor": calc.total_minor,
        "lines": [{"line_no": x.line_no, "quantity_milli": x.quantity_milli,
                   "final_amount_minor": x.final_amount_minor,
                   "accrual_points": x.accrual_points,
                   "points_discount_minor": x.points_discount_minor, "sku": x.sku,
                   # what-if pricing of past receipts needs the shelf price (issue 18)
                   "unit_price_minor": x.unit_price_minor,
                   # each rule's discount on the line: the dashboard's discounts by rule
                   **({"discounts": by_line[x.line_no]} if x.line_no in by_line else {})}
                  for x in calc.lines],
        "payments": [{"m": p.method, "a": p.amount_minor, "c": p.certificate_number}
                     for p in payments],
        "points_accrued": calc.points_to_accrue, "points_redeemed": calc.points_redeemed,
        # what a card that requires verification spends: points plus cash-account money
        "spends_minor": spend_amount(calc, payments),
        "principal": principal, "content_hash": content_hash.hex(),
        "calculation_id": _uuid_or_none(calc.calculation_id),
        "lots": [{"rule_id": x.rule_id, "points": x.points,
                  "activation": x.activation_time.isoformat(),
                  "expiry": x.expiry_time.isoformat() if x.expiry_time else None}
                 for x in (calculation_lots(calc) if member else [])],
        "promotions": list(calc.applied_promotions) if member else [],
        "coupons": [{"id": coupon_id, "code": code} for coupon_id, code in calc.coupons],
        "receipt_time": calc.receipt_time.isoformat(),
    }


def spend_amount(calc: Calculation, payments: list[PaymentIn]) -> int:
    """A receipt's spend of the member's own money, in minor units: the points paid (a point
    is one minor unit) and the cash-account payments. Certificates are bearer money."""
    return calc.points_redeemed + sum(p.amount_minor for p in payments
                                      if p.method == "cash_account")


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:  # signed by us, so always a UUID; never let that break a sale
        return None


def confirmed(result: dict[str, Any]) -> Confirmed | Legacy:
    """The store's result of a ConfirmReceipt as a value."""
    if "legacy_response" in result:
        return _legacy(result)
    return Confirmed(str(result["receipt_id"]), int(result["points_accrued"]),
                     int(result["points_redeemed"]), int(result["points_balance"]),
                     dt.datetime.fromisoformat(result["confirm_time"]))


def redeemed(result: dict[str, Any]) -> Redeemed | Legacy:
    """The store's result of a RedeemBonus as a value."""
    if "legacy_response" in result:
        return _legacy(result)
    return Redeemed(str(result["transaction_id"]), int(result["points_balance"]))


def _legacy(result: dict[str, Any]) -> Legacy:
    import base64

    return Legacy(base64.b64decode(result["legacy_response"]))
