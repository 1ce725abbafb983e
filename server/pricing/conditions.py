"""Rule conditions compiled into small predicates over the per-receipt context.

All day/time conditions use the receipt time converted to the rule-set time zone. Member
history windows cover the last `period` local days including today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time, timedelta

from server.pricing.context import EvalContext, LineState
from server.pricing.matching import LineMatcher
from server.pricing.model import MemberContext, PurchaseAggregate
from server.pricing.schema_conditions import (
    Accumulated,
    AfterAccumulated,
    Conditions,
    PreviousPurchases,
    ReceiptContains,
    TimeWindow,
)

Check = Callable[[EvalContext], bool]


def compile_conditions(cond: Conditions) -> tuple[Check, ...]:
    """One predicate per given condition; an empty tuple means 'always'."""
    checks: list[Check] = []
    if cond.stores:
        stores = frozenset(cond.stores)
        checks.append(lambda ctx: ctx.store.id in stores)
    if cond.exclude_stores:
        excluded = frozenset(cond.exclude_stores)
        checks.append(lambda ctx: ctx.store.id not in excluded)
    if cond.networks:
        networks = frozenset(cond.networks)
        checks.append(lambda ctx: not networks.isdisjoint(ctx.store.network_ids))
    if cond.card_types:
        cards = frozenset(cond.card_types)
        checks.append(lambda ctx: ctx.card_type in cards)
    if cond.member_required:
        checks.append(lambda ctx: ctx.member is not None)
    if cond.coupon is not None:
        coupon = cond.coupon
        checks.append(lambda ctx: coupon in ctx.coupons)
    checks.extend(_contains_check(item) for item in cond.receipt_contains)
    if cond.min_receipt_amount is not None:
        minimum = cond.min_receipt_amount
        checks.append(lambda ctx: ctx.subtotal >= minimum)
    if cond.date_ranges:
        spans = tuple((span.start, span.end) for span in cond.date_ranges)
        checks.append(lambda ctx: any(a <= ctx.today <= b for a, b in spans))
    if cond.weekdays:
        days = frozenset(cond.weekdays)
        checks.append(lambda ctx: ctx.today.isoweekday() in days)
    if cond.time_windows:
        windows = tuple(cond.time_windows)
        checks.append(lambda ctx: any(_in_window(ctx.local_time.time(), w) for w in windows))
    checks.extend(_accumulated_check(item) for item in cond.accumulated)
    checks.extend(_previous_check(item) for item in cond.previous_purchases)
    return tuple(checks)


LineCheck = Callable[[tuple[LineState, ...]], bool]


def target_check(cond: Conditions) -> LineCheck | None:
    """The shorthand `min_units` / `min_amount` over the rule's target lines (None: neither
    given). Units are thousandths, so a weighed line counts by its weight (1 kg = 1 unit)."""
    units = None if cond.min_units is None else cond.min_units * 1000
    amount = cond.min_amount
    if units is None and amount is None:
        return None

    def check(lines: tuple[LineState, ...]) -> bool:
        if units is not None and sum([s.line.quantity_milli for s in lines]) < units:
            return False
        return amount is None or sum([s.base for s in lines]) >= amount

    return check


def combine(checks: tuple[Check, ...]) -> Check | None:
    """One predicate for an AND of checks (None: always true; one check: itself)."""
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]

    def check(ctx: EvalContext) -> bool:
        return all(item(ctx) for item in checks)

    return check


def history_days(cond: Conditions) -> int:
    """How many days of member history these conditions read."""
    periods = [a.period for a in cond.accumulated] + [p.period for p in cond.previous_purchases]
    return max(periods, default=0)


def _in_window(moment: time, window: TimeWindow) -> bool:
    if window.start < window.end:
        return window.start <= moment < window.end
    return moment >= window.start or moment < window.end  # wraps past midnight


def _contains_check(item: ReceiptContains) -> Check:
    matcher = LineMatcher.of(item.match)

    def check(ctx: EvalContext) -> bool:
        quantity = amount = 0
        for state in ctx.lines:
            if matcher.matches(state.product, state.line.unit_price):
                quantity += state.line.quantity_milli
                amount += state.base
        return quantity >= item.min_quantity_milli and amount >= item.min_amount

    return check


def _window(member: MemberContext, today: date, days: int) -> list[PurchaseAggregate]:
    first_day = today - timedelta(days=days - 1)
    return [p for p in member.purchases if first_day <= p.day <= today]


def _accumulated_check(item: Accumulated) -> Check:
    stores, networks = frozenset(item.stores), frozenset(item.networks)
    scoped = bool(stores or networks)

    def in_scope(ctx: EvalContext, store_id: str) -> bool:
        return store_id in stores or not networks.isdisjoint(ctx.networks_of(store_id))

    def check(ctx: EvalContext) -> bool:
        if ctx.member is None:
            return False
        total = sum(
            p.amount
            for p in _window(ctx.member, ctx.today, item.period)
            if not scoped or in_scope(ctx, p.store_id)
        )
        return total >= item.min_amount

    return check


def _previous_check(item: PreviousPurchases) -> Check:
    skus, groups = frozenset(item.match.skus), frozenset(item.match.groups)

    def check(ctx: EvalContext) -> bool:
        if ctx.member is None:
            return False
        return any(
            not skus.isdisjoint(p.skus) or not groups.isdisjoint(p.groups)
            for p in _window(ctx.member, ctx.today, item.period)
        )

    return check


def first_purchase_check(promotion_id: str, days: int) -> Check:
    """Valid for `days` local days from the member's first purchase under the promotion.

    With no recorded first purchase this receipt would be the first one, so it is valid.
    """

    def check(ctx: EvalContext) -> bool:
        if ctx.member is None:
            return False
        first = ctx.member.first_promo_purchase.get(promotion_id)
        return first is None or ctx.today < first + timedelta(days=days)

    return check


def after_accumulated_check(spec: AfterAccumulated) -> Check:
    """Valid once lifetime purchases reached `amount`, for `valid_days` days if given.

    The crossing day is found by walking the daily history back from the lifetime total;
    a crossing older than the loaded history (>= history_days >= valid_days) has expired.
    """

    def check(ctx: EvalContext) -> bool:
        member = ctx.member
        if member is None or member.lifetime_amount < spec.amount:
            return False
        if spec.valid_days is None:
            return True
        history = sorted((p for p in member.purchases if p.day <= ctx.today), key=_day)
        running = member.lifetime_amount - sum(p.amount for p in history)
        if running >= spec.amount:
            return False
        for purchase in history:
            running += purchase.amount
            if running >= spec.amount:
                return ctx.today < purchase.day + timedelta(days=spec.valid_days)
        return False

    return check


def _day(purchase: PurchaseAggregate) -> date:
    return purchase.day
