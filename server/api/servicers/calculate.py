"""CalculateReceipt: the pricing hot path. Memory first; one database query at most.

The result is not stored: it goes back to the terminal as a signed calculation_id that
ConfirmReceipt commits (see server/receipts/calculation.py).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Mapping, Sequence

from kopilka.v1 import receipts_pb2

from server.accounts.accrual import AccrualFacts, FactLine, compute_accrual
from server.accounts.rewards import affordable, offer_text
from server.api.calculation_token import encode_calculation
from server.api.context import Context
from server.api.convert import time_field
from server.api.deps import ApiDeps, acting_terminal
from server.api.edge import checked_by_servicer, limit_for
from server.api.metrics_pricing import (
    DISCOUNTS_APPLIED,
    PRICING_SECONDS,
    RECEIPT_LINES,
    RULES_EVALUATED,
)
from server.api.scope import acting_store_in_scope, snapshot_networks
from server.db.engagement.coupons import coupons_by_code
from server.db.pricing.context import CardPricingContext, load_card_context
from server.engagement.coupons import (
    MAX_CODE,
    Coupon,
    CouponCheck,
    cashier_message,
    check_codes,
    normalize,
    spent_on,
    well_formed,
)
from server.errors import DomainError, ErrorKind, Violations, echo, invalid, not_found
from server.features.pricing import PricingSnapshot, PricingState
from server.limits import MAX_AMOUNT, MAX_COUPON_CODES, MAX_RECEIPT_LINES, Limit
from server.pricing import price_receipt
from server.pricing.allocation import allocate_largest_remainder
from server.pricing.benefits import REASON_CODES
from server.pricing.bonus import BONUS_RULE_ID
from server.pricing.build import new_receipt_line
from server.pricing.model import PricedLine, PricingResult, Receipt, ReceiptLine
from server.receipts.calculation import CalculatedLine, Calculation

MAX_LINES = MAX_RECEIPT_LINES
BP = 10_000
REASON_PB = {code: receipts_pb2.DiscountReason.Value(f"DISCOUNT_REASON_{code}")
             for code in REASON_CODES}
"""The pricing engine's reason codes as the proto enum (a code without a value fails here)."""


# Validation once: the edge (server/api/edge.py) leaves `lines` to _lines, which checks the
# same limits with the same texts in its one pass over the lines.
checked_by_servicer(receipts_pb2.CalculateReceiptRequest.DESCRIPTOR.full_name, "lines")
LINE_FIELDS = frozenset({"line_no", "sku", "barcode", "quantity_milli", "unit_price_minor"})
_LINES = limit_for("CalculateReceiptRequest", "lines")
_SKU, _BARCODE = limit_for("ReceiptLine", "sku"), limit_for("ReceiptLine", "barcode")
_RANGE = f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT}"


def _text_limits(errors: Violations, value: str, limit: Limit, i: int, name: str) -> None:
    if "\x00" in value:
        errors.add(f"lines[{i}].{name}", "must not contain a NUL character")
    if len(value) > limit.chars:
        errors.add(f"lines[{i}].{name}", f"at most {limit.chars} characters")


def _lines(request: receipts_pb2.CalculateReceiptRequest, snap: PricingSnapshot
           ) -> tuple[tuple[ReceiptLine, ...], Violations]:
    """Request lines as pricing lines, in one pass: the edge's limits (raised at once, as
    the edge would have) and the servicer's own checks (returned, for the caller to raise
    after its earlier checks), every bad field named."""
    pbs = request.lines
    limits, errors = Violations(), Violations()
    if len(pbs) > _LINES.items:
        limits.add("lines", f"at most {_LINES.items} items")
        limits.raise_if_any()
    if not pbs:
        errors.add("lines", "at least one line")
    if len(pbs) > MAX_LINES:
        errors.add("lines", f"at most {MAX_LINES} lines")
    seen: set[int] = set()
    lines = []
    total = 0
    by_barcode = snap.catalog.by_barcode
    for i, pb in enumerate(pbs):
        line_no, sku, quantity, price = pb.line_no, pb.sku, pb.quantity_milli, pb.unit_price_minor
        barcode = pb.barcode
        if sku and ("\x00" in sku or len(sku) > _SKU.chars):
            _text_limits(limits, sku, _SKU, i, "sku")
        if barcode and ("\x00" in barcode or len(barcode) > _BARCODE.chars):
            _text_limits(limits, barcode, _BARCODE, i, "barcode")
        if not -MAX_AMOUNT <= quantity <= MAX_AMOUNT:
            limits.add(f"lines[{i}].quantity_milli", _RANGE)
        if not -MAX_AMOUNT <= price <= MAX_AMOUNT:
            limits.add(f"lines[{i}].unit_price_minor", _RANGE)
        if line_no <= 0:
            errors.add(f"lines[{i}].line_no", "must be > 0")
        elif line_no in seen:
            errors.add(f"lines[{i}].line_no", f"duplicate line number {line_no}")
        seen.add(line_no)
        if quantity <= 0:
            errors.add(f"lines[{i}].quantity_milli",
                       "must be > 0 (thousandths: 1000 = 1 piece)")
        if price < 0:
            errors.add(f"lines[{i}].unit_price_minor", "must be >= 0")
        elif quantity > 0:
            amount = quantity * price // 1000
            if amount > MAX_AMOUNT:
                errors.add(f"lines[{i}].unit_price_minor",
                           f"quantity x price over {MAX_AMOUNT}")
            total += amount
        if not sku:
            if barcode:
                product = by_barcode.get(barcode)
                if product is None:
                    errors.add(f"lines[{i}].barcode", f"unknown barcode {echo(barcode)}")
                else:
                    sku = product.sku
            else:
                errors.add(f"lines[{i}].sku", "sku or barcode is required")
        lines.append(new_receipt_line(line_no, sku, quantity, price))
    limits.raise_if_any()
    if total > MAX_AMOUNT and not errors:
        errors.add("lines", f"the receipt adds up to more than {MAX_AMOUNT}")
    return tuple(lines), errors


def _receipt_time(request: receipts_pb2.CalculateReceiptRequest) -> dt.datetime:
    errors = Violations()
    moment = time_field(request, "receipt_time", errors)
    errors.raise_if_any()
    return moment or dt.datetime.now(dt.UTC)


Lots = tuple[tuple[int, str, str | None, str], ...]


def _fact_line(snap: PricingSnapshot, line: PricedLine) -> FactLine:
    product = snap.catalog.get(line.sku)
    group = product.group if product else None
    brand = product.brand if product else None
    return FactLine(line.line_no, line.sku, group or "", brand or "", line.final_amount,
                    line.quantity_milli)


def receipt_accrual(snap: PricingSnapshot, card: CardPricingContext | None, store_code: str,
             moment: dt.datetime, result: PricingResult) -> tuple[int, list[int], Lots]:
    """Points this receipt earns: (total, per line, lots).

    With bonus rules applied (`kopilka ledger bonus-rules apply`) they decide; until then
    the card type's own accrual percent gives one never-expiring lot.
    """
    finals = [x.final_amount for x in result.lines]
    if card is None:
        return 0, [0] * len(finals), ()
    if snap.accrual.document.rules:
        facts = AccrualFacts(
            card_type=card.card_type, store_code=store_code,
            store_networks=snap.stores[store_code].network_ids, receipt_time=moment,
            lines=tuple(_fact_line(snap, x) for x in result.lines),
            is_first_purchase=card.receipt_count == 0, birth_date=card.birth_date,
        )
        accrual = compute_accrual(snap.accrual, facts)
        return (accrual.total, [accrual.line_points[x.line_no] for x in result.lines],
                tuple(lot.as_calculation_lot() for lot in accrual.lots))
    points = result.total * card.accrual_bps // BP
    lots = ((points, moment.isoformat(), None, f"card_type:{card.card_type}"),) if points else ()
    return points, allocate_largest_remainder(points, finals), lots


_tuple_new = tuple.__new__


def calculated_lines(result: PricingResult, accrual: list[int]) -> tuple[CalculatedLine, ...]:
    """The priced lines as the token books them. Without points paid (most receipts) no
    line has a points discount to look for, and each tuple is made by one C call (the same
    CalculatedLine its constructor makes)."""
    if not result.bonus_discount:
        return tuple([_tuple_new(CalculatedLine, (
            line.line_no, line.sku, line.quantity_milli, line.unit_price, line.base_amount,
            line.base_amount - line.final_amount, 0, line.final_amount, points))
            for line, points in zip(result.lines, accrual, strict=True)])
    out = []
    for line, points in zip(result.lines, accrual, strict=True):
        paid_with_points = 0
        for d in line.discounts:
            if d.rule_id == BONUS_RULE_ID:
                paid_with_points += d.amount
        out.append(CalculatedLine(
            line.line_no, line.sku, line.quantity_milli, line.unit_price, line.base_amount,
            line.discount_amount - paid_with_points, paid_with_points, line.final_amount, points,
        ))
    return tuple(out)


def rule_discounts(result: PricingResult) -> tuple[tuple[int, str, int], ...]:
    """Each rule's discount on each line, (line_no, rule id, amount); points paid are not a
    rule's discount."""
    return tuple((line.line_no, d.rule_id, d.amount) for line in result.lines
                 for d in line.discounts if d.rule_id != BONUS_RULE_ID and d.amount)


def _response(calc: Calculation, token: str, result: PricingResult, bonus_version: str,
              codes: Mapping[str, str], explain: bool) -> receipts_pb2.CalculateReceiptResponse:
    """Lines and discounts are appended with add() and filled field by field: keyword
    arguments cost upb a lookup by name each, about twice the CPU of plain attribute
    stores (20 lines make ~40 messages per call). Each discount carries its rule id and
    reason code (`codes`: rule id -> code); the rule's name and the reason text only when
    the request asked to `explain`."""
    currency = calc.currency
    response = receipts_pb2.CalculateReceiptResponse()
    response.calculation_id = token
    response.rule_set_version = result.rule_set_version
    for field, amount in ((response.subtotal, result.subtotal),
                          (response.discount_total, result.discount_total),
                          (response.total, result.total)):
        field.amount_minor = amount
        field.currency = currency
    response.points_to_accrue = calc.points_to_accrue
    response.max_points_redeemable = result.max_points_redeemable
    response.points_redeemed = calc.points_redeemed
    response.messages.extend(calc.messages)
    response.bonus_rule_version = bonus_version
    for hint in result.hints:
        response.hints.add(rule_id=hint.rule_id, message=hint.message,
                           missing_quantity_milli=hint.missing_quantity_milli,
                           missing_amount_minor=hint.missing_amount)
    add_line = response.lines.add
    for line in result.lines:
        pb = add_line()
        pb.line_no = line.line_no
        pb.sku = line.sku
        pb.quantity_milli = line.quantity_milli
        pb.base_amount_minor = line.base_amount
        pb.final_amount_minor = line.final_amount
        if not line.discounts:
            continue
        add_discount = pb.discounts.add
        for d in line.discounts:
            discount = add_discount()
            discount.rule_id = d.rule_id
            discount.amount_minor = d.amount
            discount.reason_code = REASON_PB[codes[d.rule_id]]
            if explain:
                discount.rule_name = d.rule_name
                discount.reason = d.reason
    return response


def _coupon_checks(response: receipts_pb2.CalculateReceiptResponse, checks: list[CouponCheck],
                   spent: set[uuid.UUID]) -> None:
    for c in checks:
        response.coupons.add(code=c.code, accepted=c.reason is None, reason=c.reason or "",
                             promotion_id=c.coupon.promotion_id if c.coupon else "",
                             applied=c.coupon is not None and c.coupon.id in spent)


class CalculateReceiptMixin:
    """Mixed into ReceiptServicer so pricing and the ledger evolve in separate modules."""

    deps: ApiDeps

    async def _card(self, card_number: str, snap: PricingSnapshot, now: dt.datetime
                    ) -> CardPricingContext:
        card = await load_card_context(
            self.deps.ledger_pool, card_number, time_zone=str(snap.rules.timezone),
            history_days=snap.rules.history_days, promotions=snap.rules.tracked_promotions,
            now=now,
        )
        if card is None:
            raise not_found("card", card_number, "CARD_NOT_FOUND")
        if card.card_state != "active":
            raise DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_NOT_ACTIVE",
                              f"card {card_number} is {card.card_state}",
                              metadata={"state": card.card_state})
        return card

    async def _coupons(self, request: receipts_pb2.CalculateReceiptRequest,
                       card: CardPricingContext | None, now: dt.datetime) -> list[CouponCheck]:
        """The presented codes checked against the coupons (one query, only when codes came)."""
        if len(request.coupon_codes) > MAX_COUPON_CODES:
            raise invalid("coupon_codes", f"at most {MAX_COUPON_CODES} codes")
        codes = [normalize(c) for c in request.coupon_codes]
        for i, code in enumerate(codes):
            if not code or len(code) > MAX_CODE:
                raise invalid(f"coupon_codes[{i}]", f"1 to {MAX_CODE} characters")
        found = await coupons_by_code(self.deps.ledger_pool, [c for c in codes if well_formed(c)])
        return check_codes(codes, found, card.member_id if card else None, now)

    async def CalculateReceipt(
            self, request: receipts_pb2.CalculateReceiptRequest, context: Context
    ) -> receipts_pb2.CalculateReceiptResponse:
        state: PricingState = self.deps.pricing
        snap = state.snapshot
        lines, line_errors = _lines(request, snap)  # the edge's limits of lines first
        currency = request.currency or self.deps.settings.currency
        if currency != self.deps.settings.currency:
            raise invalid("currency", f"this server prices in {self.deps.settings.currency}")
        store_code = await acting_store_in_scope(request.store_code,
                                                 snapshot_networks(snap.stores))
        terminal_id = acting_terminal(request.terminal_id)
        moment = checked_receipt(request, snap, store_code, line_errors)
        now = dt.datetime.now(dt.UTC)
        card = await self._card(request.card_number, snap, now) if request.card_number else None
        checks: list[CouponCheck] = []
        if request.coupon_codes:
            checks = await self._coupons(request, card, now)
        unlocked = frozenset(c.coupon.promotion_id for c in checks
                             if c.reason is None and c.coupon is not None)

        began = time.perf_counter()
        result = price(snap, request, store_code, moment, lines, card, unlocked)
        PRICING_SECONDS.observe(time.perf_counter() - began)
        RULES_EVALUATED.inc(result.rules_evaluated)
        RECEIPT_LINES.inc(len(lines))
        DISCOUNTS_APPLIED.inc(sum(len(x.discounts) for x in result.lines))
        spent = spent_on(checks, result.applied_promotions)
        calc = calculation_of(snap, request, card, store_code, terminal_id, currency, moment,
                              now, result, checks, spent)
        response = respond(snap, card, calc, encode_calculation(self.deps.signer, calc),
                           result, request.explain)
        if checks:
            _coupon_checks(response, checks, {c.id for c in spent})
        return response

def checked_receipt(request: receipts_pb2.CalculateReceiptRequest, snap: PricingSnapshot,
                    store_code: str, line_errors: Violations) -> dt.datetime:
    """The servicer's own checks of a request (after the edge's, server/api/edge.py): the
    store, points to pay, the lines, the time. The stages are functions of their own so
    benchmarks/bench_calculate_stages.py times exactly what the servicer runs."""
    if store_code not in snap.stores:
        raise invalid("store_code", f"unknown store {store_code!r}", "STORE_NOT_FOUND")
    if request.pay_with_points < 0:
        raise invalid("pay_with_points", "must be >= 0")
    if request.pay_with_points and not request.card_number:
        raise invalid("pay_with_points", "paying with points needs a card_number")
    line_errors.raise_if_any()
    return _receipt_time(request)


def price(snap: PricingSnapshot, request: receipts_pb2.CalculateReceiptRequest,
          store_code: str, moment: dt.datetime, lines: tuple[ReceiptLine, ...],
          card: CardPricingContext | None,
          coupons: frozenset[str] = frozenset()) -> PricingResult:
    """The engine stage; `coupons`: the promotions the receipt's valid coupons unlock."""
    return price_receipt(snap.rules, snap.catalog, snap.stores, Receipt(
        store_id=store_code, time=moment, lines=lines,
        card_type=card.card_type if card else None, member=card.member if card else None,
        bonus_points_to_pay=request.pay_with_points, coupons=coupons, explain=request.explain,
    ))


def calculation_of(snap: PricingSnapshot, request: receipts_pb2.CalculateReceiptRequest,
                   card: CardPricingContext | None, store_code: str, terminal_id: str,
                   currency: str, moment: dt.datetime, now: dt.datetime,
                   result: PricingResult, checks: Sequence[CouponCheck] = (),
                   spent: Sequence[Coupon] = ()) -> Calculation:
    """What the token carries: the priced receipt with its points and the coupons it
    spends; cashier messages for refused coupons."""
    points, per_line, lots = receipt_accrual(snap, card, store_code, moment, result)
    return Calculation(
        calculation_id=str(uuid.uuid4()), store_code=store_code,
        terminal_id=terminal_id, currency=currency, receipt_time=moment,
        rule_set_version=result.rule_set_version,
        lines=calculated_lines(result, per_line), subtotal_minor=result.subtotal,
        discount_total_minor=result.discount_total, total_minor=result.total,
        points_to_accrue=points, points_redeemed=result.bonus_discount, created_at=now,
        card_number=request.card_number or None,
        member_id=str(card.member_id) if card and card.member_id else None,
        card_type=card.card_type if card else None,
        messages=result.messages + tuple(cashier_message(c.code, c.reason)
                                         for c in checks if c.reason is not None),
        accrual_lots=lots, applied_promotions=result.applied_promotions,
        coupons=tuple((str(c.id), c.code) for c in spent),
        line_discounts=rule_discounts(result),
    )


def respond(snap: PricingSnapshot, card: CardPricingContext | None, calc: Calculation,
            token: str, result: PricingResult, explain: bool = False
            ) -> receipts_pb2.CalculateReceiptResponse:
    """The response message, with the rewards the member can afford; `explain`: the
    discounts' rule names and reason texts too."""
    bonus_version = snap.accrual.version if snap.accrual.document.rules else ""
    response = _response(calc, token, result, bonus_version, snap.rules.reason_codes, explain)
    member = card.member if card else None
    if member is not None and snap.accrual.document.rewards:
        balance = (member.points_balance or 0) - result.bonus_discount
        for reward in affordable(snap.accrual.document, card.card_type if card else None,
                                 balance):
            response.rewards.add(reward_id=reward.id, name=reward.name,
                                 points=reward.points, kind=reward.kind,
                                 sku=reward.sku or "", amount_minor=reward.amount_minor or 0,
                                 coupon=reward.coupon or "")
            response.messages.append(offer_text(reward))
    return response
