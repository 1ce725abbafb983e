"""A priced receipt as a signed, self-contained token: the calculation_id.

CalculateReceipt writes nothing, yet ConfirmReceipt must commit exactly what was shown to
the customer. So the calculation travels to the terminal and back, signed by the server:
any worker can confirm it, and nobody can alter a price on the way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from google.protobuf.message import DecodeError
from kopilka.v1.calculation_token_pb2 import CalculationToken

from server.errors import DomainError, ErrorKind, invalid
from server.security.signing import Signer

PURPOSE = "calculation/v1"
MAX_AGE = dt.timedelta(hours=24)
# Token version 2 (the leading byte of the signed body): a CalculationToken message
# (proto/kopilka/v1/calculation_token.proto) instead of version 1's JSON. Version 1 tokens
# (base64 JSON "." base64 MAC) are still read: a calculation lives 24 hours, and terminals
# hold some across a deploy. Drop `_from_json` one release later.
VERSION = b"\x02"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)


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

    def check_totals(self) -> None:
        """The arithmetic every receipt must satisfy, to the kopeck; ValueError if broken."""
        problems = []
        if sum(x.base_amount_minor for x in self.lines) != self.subtotal_minor:
            problems.append("line bases do not add up to the subtotal")
        if sum(x.final_amount_minor for x in self.lines) != self.total_minor:
            problems.append("line finals do not add up to the total")
        if self.subtotal_minor - self.discount_total_minor != self.total_minor:
            problems.append("subtotal - discounts != total")
        for x in self.lines:
            parts = x.discount_minor + x.points_discount_minor + x.final_amount_minor
            if parts != x.base_amount_minor or min(x.final_amount_minor, x.discount_minor,
                                                   x.points_discount_minor) < 0:
                problems.append(f"line {x.line_no} does not add up")
        if sum(x.accrual_points for x in self.lines) != self.points_to_accrue:
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
    return Calculation(**data)


def _us(moment: dt.datetime) -> int:
    return (moment - EPOCH) // US


def _time(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def _pack(calc: Calculation) -> bytes:
    """Version 2's body. Not carried: `messages` (shown in CalculateReceipt's response,
    never booked), which were most of version 1's bytes."""
    token = CalculationToken(
        store_code=calc.store_code, terminal_id=calc.terminal_id, currency=calc.currency,
        receipt_time_us=_us(calc.receipt_time), rule_set_version=calc.rule_set_version,
        skus=[x.sku for x in calc.lines],
        line_values=[v for x in calc.lines for v in (
            x.line_no, x.quantity_milli, x.unit_price_minor, x.base_amount_minor,
            x.discount_minor, x.points_discount_minor, x.final_amount_minor, x.accrual_points)],
        subtotal_minor=calc.subtotal_minor, discount_total_minor=calc.discount_total_minor,
        total_minor=calc.total_minor, points_to_accrue=calc.points_to_accrue,
        points_redeemed=calc.points_redeemed, created_at_us=_us(calc.created_at),
        card_number=calc.card_number, member_id=calc.member_id, card_type=calc.card_type,
        lot_values=[v for points, act, exp, _ in calc.accrual_lots for v in (
            points, _us(dt.datetime.fromisoformat(act)), 1 if exp else 0,
            _us(dt.datetime.fromisoformat(exp)) if exp else 0)],
        lot_rules=[lot[3] for lot in calc.accrual_lots],
        applied_promotions=calc.applied_promotions,
    )
    try:
        token.calculation_uuid = uuid.UUID(calc.calculation_id).bytes
    except ValueError:
        token.calculation_text = calc.calculation_id
    return VERSION + token.SerializeToString()


def _unpack(body: bytes, field_path: str) -> Calculation:
    if body[:1] != VERSION:  # signed by us, so only a future version could get here
        raise invalid(field_path, "unknown token version", "TOKEN_INVALID")
    try:
        t = CalculationToken.FromString(body[1:])
    except DecodeError:
        raise invalid(field_path, "malformed token", "TOKEN_INVALID") from None
    v, skus, lv = t.line_values, t.skus, t.lot_values
    lines = tuple(CalculatedLine(v[i], skus[n], *v[i + 1:i + 8])
                  for n, i in enumerate(range(0, len(v), 8)))
    lots = tuple((lv[i], _time(lv[i + 1]).isoformat(),
                  _time(lv[i + 3]).isoformat() if lv[i + 2] else None, t.lot_rules[n])
                 for n, i in enumerate(range(0, len(lv), 4)))
    return Calculation(
        calculation_id=str(uuid.UUID(bytes=t.calculation_uuid)) if t.calculation_uuid
        else t.calculation_text,
        store_code=t.store_code, terminal_id=t.terminal_id, currency=t.currency,
        receipt_time=_time(t.receipt_time_us), rule_set_version=t.rule_set_version,
        lines=lines, subtotal_minor=t.subtotal_minor,
        discount_total_minor=t.discount_total_minor, total_minor=t.total_minor,
        points_to_accrue=t.points_to_accrue, points_redeemed=t.points_redeemed,
        created_at=_time(t.created_at_us),
        card_number=t.card_number if t.HasField("card_number") else None,
        member_id=t.member_id if t.HasField("member_id") else None,
        card_type=t.card_type if t.HasField("card_type") else None,
        accrual_lots=lots, applied_promotions=tuple(t.applied_promotions),
    )


def encode_calculation(signer: Signer, calc: Calculation) -> str:
    """The calculation_id handed to the terminal (token version 2)."""
    calc.check_totals()
    return signer.sign_binary(PURPOSE, _pack(calc))


def encode_calculation_v1(signer: Signer, calc: Calculation) -> str:
    """A version 1 (JSON) calculation_id: what servers before version 2 handed out; kept
    for the transition test and bench_calculate_stages.py's before/after."""
    calc.check_totals()
    return signer.sign(PURPOSE, _to_json(calc))


def decode_calculation(
    signer: Signer, token: str, now: dt.datetime, field_path: str = "calculation_id"
) -> Calculation:
    """The genuine, unexpired calculation behind a calculation_id (version 2, or a
    version 1 token issued before the upgrade)."""
    if "." in token:
        calc = _from_json(signer.verify(PURPOSE, token, field_path))
    else:
        calc = _unpack(signer.verify_binary(PURPOSE, token, field_path), field_path)
    if now - calc.created_at > MAX_AGE:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "CALCULATION_EXPIRED",
                          "the calculation is older than 24 hours; calculate the receipt again")
    return calc
