"""The calculation_id's wire format, version 2: a signed CalculationToken protobuf.

The leading byte of the signed body is the format's version (2); the body is a
CalculationToken message (proto/kopilka/v1/calculation_token.proto) and the whole
(body + 16-byte HMAC-SHA256, server/security/signing.py) is one base64url string: about
770 characters for a 20-line receipt against version 1's ~1,840 of JSON (each rule's
discount on a line adds about six more: three small integers, the rule id once). Version 1 tokens
(base64 JSON "." MAC, server/receipts/calculation.py) are still read: a calculation lives
24 hours and terminals hold some across a deploy. Drop that branch one release later.
Here and not in server/receipts because it is generated protobuf code (a wire format).
"""

from __future__ import annotations

import datetime as dt
import uuid
from itertools import chain
from operator import itemgetter

from google.protobuf.message import DecodeError
from kopilka.v1.calculation_token_pb2 import CalculationToken

from server.errors import invalid
from server.receipts.calculation import (
    PURPOSE,
    CalculatedLine,
    Calculation,
    check_age,
    read_calculation_v1,
)
from server.security.signing import Signer

VERSION = b"\x02"
_SKU = itemgetter(1)
_LINE_VALUES = itemgetter(0, 2, 3, 4, 5, 6, 7, 8)
"""A CalculatedLine's numbers in line_values' order: line_no, quantity_milli,
unit_price_minor, base_amount_minor, discount_minor, points_discount_minor,
final_amount_minor, accrual_points (every field but the sku)."""
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)


def _us(moment: dt.datetime) -> int:
    return (moment - EPOCH) // US


def _time(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def _pack(calc: Calculation) -> bytes:
    """Version 2's body. Not carried: `messages` (shown in CalculateReceipt's response,
    never booked), which were most of version 1's bytes. Filled field by field: upb's
    keyword arguments cost a lookup by name each."""
    token = CalculationToken()
    token.store_code = calc.store_code
    token.terminal_id = calc.terminal_id
    token.currency = calc.currency
    token.receipt_time_us = _us(calc.receipt_time)
    token.rule_set_version = calc.rule_set_version
    lines = calc.lines
    token.skus.extend(map(_SKU, lines))
    token.line_values.extend(chain.from_iterable(map(_LINE_VALUES, lines)))
    token.subtotal_minor = calc.subtotal_minor
    token.discount_total_minor = calc.discount_total_minor
    token.total_minor = calc.total_minor
    token.points_to_accrue = calc.points_to_accrue
    token.points_redeemed = calc.points_redeemed
    token.created_at_us = _us(calc.created_at)
    if calc.card_number is not None:
        token.card_number = calc.card_number
    if calc.member_id is not None:
        token.member_id = calc.member_id
    if calc.card_type is not None:
        token.card_type = calc.card_type
    for points, activation, expiry, rule in calc.accrual_lots:
        token.lot_values.extend((points, _us(dt.datetime.fromisoformat(activation)),
                                 1 if expiry else 0,
                                 _us(dt.datetime.fromisoformat(expiry)) if expiry else 0))
        token.lot_rules.append(rule)
    token.applied_promotions.extend(calc.applied_promotions)
    for coupon_id, code in calc.coupons:
        token.coupon_ids.append(coupon_id)
        token.coupon_codes.append(code)
    if calc.line_discounts:
        rules = list(dict.fromkeys(rule for _, rule, _ in calc.line_discounts))
        index = {rule: n for n, rule in enumerate(rules)}
        token.discount_rules.extend(rules)
        token.discount_values.extend(v for line_no, rule, amount in calc.line_discounts
                                     for v in (line_no, index[rule], amount))
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
    v, skus, lv, dv = t.line_values, t.skus, t.lot_values, t.discount_values
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
        coupons=tuple(zip(t.coupon_ids, t.coupon_codes, strict=True)),
        line_discounts=tuple((dv[i], t.discount_rules[dv[i + 1]], dv[i + 2])
                             for i in range(0, len(dv), 3)),
    )


def encode_calculation(signer: Signer, calc: Calculation) -> str:
    """The calculation_id handed to the terminal (token version 2)."""
    calc.check_totals()
    return signer.sign_binary(PURPOSE, _pack(calc))


def decode_calculation(
    signer: Signer, token: str, now: dt.datetime, field_path: str = "calculation_id"
) -> Calculation:
    """The genuine, unexpired calculation behind a calculation_id (version 2, or a
    version 1 token issued before the upgrade)."""
    if "." in token:
        return check_age(read_calculation_v1(signer, token, field_path), now)
    return check_age(_unpack(signer.verify_binary(PURPOSE, token, field_path), field_path),
                     now)
