"""`price_receipt`: apply a compiled rule set to one receipt. Pure and deterministic.

Order of work: candidate rules from the index -> validity and conditions -> rule groups in
order (within a group rules compete per line: by priority, or greedily by the largest
discount) -> bonus points paid as a discount -> points to accrue. Each later discount is
computed on what is still payable, and clipped so no line goes below zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from itertools import groupby

from server.errors import Violations
from server.pricing.allocation import allocate_largest_remainder
from server.pricing.benefits import propose
from server.pricing.bonus import points_to_accrue, redeem
from server.pricing.compiler import CompiledRule, CompiledRuleSet
from server.pricing.conditions import all_hold
from server.pricing.context import EvalContext, LineState
from server.pricing.model import (
    Catalog,
    Discount,
    PricedLine,
    PricingResult,
    Receipt,
    Store,
)
from server.pricing.money import format_money, format_ratio

Offer = list[tuple[LineState, int, str]]


@dataclass(frozen=True, slots=True)
class _Applicable:
    """A rule that passed validity and conditions, with what never changes per receipt:
    the lines its target matches and its boost."""

    rule: CompiledRule
    lines: tuple[LineState, ...]
    multiplier: Fraction | None
    boost_note: str


def price_receipt(
    rules: CompiledRuleSet, catalog: Catalog, stores: Mapping[str, Store], receipt: Receipt
) -> PricingResult:
    """Price a receipt; raises DomainError(INVALID_RECEIPT) for malformed input."""
    states = _line_states(catalog, receipt)
    store = stores.get(receipt.store_id) or Store(receipt.store_id)
    local = receipt.time.astimezone(rules.timezone)
    ctx = EvalContext(
        local,
        local.date(),
        store,
        receipt.effective_card_type,
        receipt.member,
        stores,
        tuple(states),
    )
    candidates = rules.candidates([s.product for s in states], store)
    applicable = [
        a for rule, hint in candidates if (a := _applicable(rule, hint, receipt.time, ctx))
    ]
    messages: list[str] = []
    promotions: list[str] = []
    for _, group in groupby(applicable, key=lambda a: a.rule.group.id):
        _apply_group(list(group), ctx, messages, promotions)
    redemption = redeem(states, receipt.bonus_points_to_pay, rules.bonus, receipt.member)
    if redemption.message:
        messages.append(redemption.message)
    return _result(
        rules,
        states,
        receipt,
        redemption.applied,
        redemption.max_redeemable,
        messages,
        promotions,
        len(candidates),
    )


def _line_states(catalog: Catalog, receipt: Receipt) -> list[LineState]:
    problems = Violations()
    if receipt.time.tzinfo is None or receipt.time.utcoffset() is None:
        problems.add("time", "must be timezone-aware")
    if receipt.bonus_points_to_pay < 0:
        problems.add("bonus_points_to_pay", "must be >= 0")
    seen: set[int] = set()
    for i, line in enumerate(receipt.lines):
        if line.quantity_milli <= 0:
            problems.add(f"lines[{i}].quantity_milli", "must be > 0")
        if line.unit_price < 0:
            problems.add(f"lines[{i}].unit_price", "must be >= 0")
        if line.line_no in seen:
            problems.add(f"lines[{i}].line_no", f"duplicate line number {line.line_no}")
        seen.add(line.line_no)
    problems.raise_if_any("INVALID_RECEIPT")
    states = []
    for i, line in enumerate(receipt.lines):
        base = line.base_amount
        states.append(LineState(i, line, catalog.resolve(line), base, base))
    return states


def _applicable(
    rule: CompiledRule, hint: set[int] | None, moment: datetime, ctx: EvalContext
) -> _Applicable | None:
    """Target lines first (cheap), then validity, conditions and boosts."""
    pool = ctx.lines if hint is None else [ctx.lines[i] for i in sorted(hint)]
    target = rule.target
    lines = tuple(s for s in pool if target.matches(s.product, s.line.unit_price))
    if not lines:
        return None
    if rule.valid_from is not None and moment < rule.valid_from:
        return None
    if rule.valid_to is not None and moment >= rule.valid_to:
        return None
    if not (all_hold(rule.member_checks, ctx) and all_hold(rule.checks, ctx)):
        return None
    multiplier: Fraction | None = None
    note = ""
    for boost in rule.boosts:
        if all_hold(boost.checks, ctx):
            multiplier = boost.multiplier * (multiplier or 1)
            note += f" (boost {boost.name}: x{format_ratio(boost.multiplier)})"
    return _Applicable(rule, lines, multiplier, note)


def _apply_group(
    group: list[_Applicable], ctx: EvalContext, messages: list[str], promotions: list[str]
) -> None:
    """Within a group a line takes at most one rule's discount."""
    claimed: set[int] = set()
    if group[0].rule.group.resolution == "priority":
        for item in group:
            _commit(item.rule, _offer(item, ctx, claimed), claimed, messages, promotions)
        return
    # max_discount: greedily take the largest offer; only offers sharing a line with the
    # committed one can change, so only those are recomputed.
    offers = {i: _offer(item, ctx, claimed) for i, item in enumerate(group)}
    totals = {i: sum(amount for _, amount, _ in offer) for i, offer in offers.items()}
    while offers:
        best = max(offers, key=lambda i: (totals[i], -i))
        if totals[best] <= 0:
            return
        offer = offers.pop(best)
        _commit(group[best].rule, offer, claimed, messages, promotions)
        touched = {state.index for state, _, _ in offer}
        for i in offers:
            if any(state.index in touched for state in group[i].lines):
                offers[i] = _offer(group[i], ctx, claimed)
                totals[i] = sum(amount for _, amount, _ in offers[i])


def _offer(item: _Applicable, ctx: EvalContext, claimed: set[int]) -> Offer:
    """The discounts the rule would give now: boosted, clipped to each line, capped."""
    rule = item.rule
    exclusive = rule.rule.exclusive
    targets = [
        s
        for s in item.lines
        if s.remaining > 0
        and not s.locked
        and s.index not in claimed
        and not (exclusive and s.discounts)
    ]
    if not targets:
        return []
    proposal = propose(rule.rule.benefit, targets, ctx, rule.trigger, item.multiplier)
    note = item.boost_note
    offer = [(s, min(amount, s.remaining), reason + note) for s, amount, reason in proposal]
    offer = [entry for entry in offer if entry[1] > 0]
    cap = rule.rule.max_discount
    if cap is not None and sum(amount for _, amount, _ in offer) > cap:
        shares = allocate_largest_remainder(cap, [amount for _, amount, _ in offer])
        cap_note = f" (rule capped at {format_money(cap)})"
        offer = [(s, share, r + cap_note) for (s, _, r), share in zip(offer, shares, strict=True)]
        offer = [entry for entry in offer if entry[1] > 0]
    return offer


def _commit(
    rule: CompiledRule, offer: Offer, claimed: set[int], messages: list[str], promotions: list[str]
) -> None:
    if not offer:
        return
    r = rule.rule
    for state, amount, reason in offer:
        state.remaining -= amount
        state.discounts.append(Discount(r.id, r.display_name, amount, reason))
        claimed.add(state.index)
        if r.exclusive:
            state.locked = True
    if r.message and r.message not in messages:
        messages.append(r.message)
    if r.promotion_id not in promotions:
        promotions.append(r.promotion_id)


def _result(
    rules: CompiledRuleSet,
    states: list[LineState],
    receipt: Receipt,
    bonus_discount: int,
    max_points: int,
    messages: list[str],
    promotions: list[str],
    evaluated: int,
) -> PricingResult:
    lines = tuple(
        PricedLine(
            s.line.line_no,
            s.line.sku,
            s.line.quantity_milli,
            s.line.unit_price,
            s.base,
            tuple(s.discounts),
            s.remaining,
        )
        for s in states
    )
    subtotal = sum(s.base for s in states)
    total = sum(s.remaining for s in states)
    return PricingResult(
        lines=lines,
        subtotal=subtotal,
        discount_total=subtotal - total,
        total=total,
        points_to_accrue=points_to_accrue(total, receipt.effective_card_type, rules.bonus),
        max_points_redeemable=max_points,
        bonus_discount=bonus_discount,
        messages=tuple(messages),
        rule_set_version=rules.version,
        rules_evaluated=evaluated,
        applied_promotions=tuple(promotions),
    )
