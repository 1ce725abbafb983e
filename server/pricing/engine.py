"""`price_receipt`: apply a compiled rule set to one receipt. Pure and deterministic.

Order of work: candidate rules from the index -> validity and conditions -> rule groups in
order (within a group rules compete per line: by priority, or greedily by the largest
discount) -> bonus points paid as a discount -> points to accrue. Each later discount is
computed on what is still payable, and clipped so no line goes below zero.

Hot-path notes: candidates come with their target lines from a per-product memo
(`candidates.py`); offers carry (line, amount, detail) and reason texts are formatted only
when an offer is committed; result objects are built by `build.py`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

from server.errors import Violations
from server.pricing.allocation import allocate_largest_remainder
from server.pricing.benefits import PercentPlan
from server.pricing.bonus import points_to_accrue, redeem
from server.pricing.build import new_discount, new_priced_line, new_result
from server.pricing.compiler import CompiledRule, CompiledRuleSet
from server.pricing.context import EvalContext, LineState
from server.pricing.hints import nearly
from server.pricing.model import (
    Catalog,
    Discount,
    PricingResult,
    Product,
    PromotionHint,
    Receipt,
    Store,
)
from server.pricing.money import BP_DENOMINATOR, div_round_half_up, format_money
from server.pricing.multibuy import Entry


class _Applicable:
    """A rule that passed validity and conditions, with what never changes per receipt:
    the lines its target matches and its boost (a plain slots class: built per candidate)."""

    __slots__ = ("boost_note", "lines", "multiplier", "rule")

    def __init__(
        self,
        rule: CompiledRule,
        lines: tuple[LineState, ...],
        multiplier: Fraction | None,
        boost_note: str,
    ) -> None:
        self.rule = rule
        self.lines = lines
        self.multiplier = multiplier
        self.boost_note = boost_note


@dataclass(slots=True)
class _Offer:
    """What a rule would give now; `capped` adds the cap note to its reasons."""

    item: _Applicable
    entries: list[Entry]
    total: int
    capped: bool


def price_receipt(
    rules: CompiledRuleSet, catalog: Catalog, stores: Mapping[str, Store], receipt: Receipt
) -> PricingResult:
    """Price a receipt; raises DomainError(INVALID_RECEIPT) for malformed input."""
    if not _well_formed(receipt):
        _raise_invalid(receipt)
    states, remember = _line_states(catalog, receipt)
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
        receipt.coupons,
        receipt.explain,
    )
    found = rules.finder.find(states, remember, store, receipt.coupons)
    messages: list[str] = []
    promotions: list[str] = []
    group: list[_Applicable] = []
    stage: list[list[_Applicable]] = []
    compiled = rules.rules
    for ordinal, line_indexes in found.rules:
        item = _applicable(compiled[ordinal], line_indexes, receipt, ctx)
        if item is None:
            continue
        if group and group[0].rule.group is not item.rule.group:
            stage.append(group)
            group = []
            if stage[0][0].rule.group.order != item.rule.group.order:
                _apply_stage(stage, ctx, messages, promotions)
                stage = []
        group.append(item)
    if group:
        stage.append(group)
        _apply_stage(stage, ctx, messages, promotions)
    redemption = redeem(states, receipt.bonus_points_to_pay, rules.bonus, receipt.member,
                        receipt.explain)
    if redemption.message:
        messages.append(redemption.message)
    hints: tuple[PromotionHint, ...] = ()
    if rules.hints_within_bp:
        hints = _hints(rules, found.rules, receipt, ctx)
        messages.extend(h.message for h in hints if h.message not in messages)
    return _result(
        rules,
        states,
        receipt,
        redemption.applied,
        redemption.max_redeemable,
        messages,
        promotions,
        found.evaluated,
        hints,
    )


def _hints(
    rules: CompiledRuleSet,
    found: list[tuple[int, list[int] | None]],
    receipt: Receipt,
    ctx: EvalContext,
) -> tuple[PromotionHint, ...]:
    """Candidate rules with a hint that are valid now, with their target lines."""
    candidates = []
    moment = receipt.time
    for ordinal, line_indexes in found:
        rule = rules.rules[ordinal]
        spec = rule.hint
        if spec is None:
            continue
        if (rule.valid_from is not None and moment < rule.valid_from) or (
            rule.valid_to is not None and moment >= rule.valid_to
        ):
            continue
        candidates.append(
            (rule.rule.id, rule.rule.display_name, spec, _target_lines(rule, line_indexes, ctx))
        )
    return tuple(nearly(candidates, ctx, rules.hints_within_bp))


def _target_lines(
    rule: CompiledRule, line_indexes: list[int] | None, ctx: EvalContext
) -> tuple[LineState, ...]:
    if line_indexes is not None:
        return tuple([ctx.lines[i] for i in line_indexes])
    if rule.target.selects_all:
        return ctx.lines
    matches = rule.target.matches
    return tuple(s for s in ctx.lines if matches(s.product, s.line.unit_price))


def _well_formed(receipt: Receipt) -> bool:
    """The cheap common case of `_raise_invalid`'s checks."""
    if receipt.time.utcoffset() is None or receipt.bonus_points_to_pay < 0:
        return False
    for line in receipt.lines:
        if line.quantity_milli <= 0 or line.unit_price < 0:
            return False
    return len({line.line_no for line in receipt.lines}) == len(receipt.lines)


def _raise_invalid(receipt: Receipt) -> None:
    """Report every bad field at once (only reached for a malformed receipt)."""
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


def _line_states(catalog: Catalog, receipt: Receipt) -> tuple[list[LineState], list[bool]]:
    """Line states, and per line whether its product is a long-lived catalog object."""
    products = catalog.products
    states: list[LineState] = []
    remember: list[bool] = []
    for i, line in enumerate(receipt.lines):
        product = line.product
        shared = False
        if product is None:
            product = products.get(line.sku)
            shared = product is not None
            if product is None:
                product = Product(sku=line.sku)
        # line amount, rounded half up (money.line_amount) for quantity > 0, price >= 0
        base = (line.quantity_milli * line.unit_price * 2 + 1000) // 2000
        states.append(LineState(i, line, product, base, base))
        remember.append(shared)
    return states, remember


def _applicable(
    rule: CompiledRule, line_indexes: list[int] | None, receipt: Receipt, ctx: EvalContext
) -> _Applicable | None:
    """Validity first (cheapest), then target lines, conditions and boosts."""
    moment = receipt.time
    if rule.valid_from is not None and moment < rule.valid_from:
        return None
    if rule.valid_to is not None and moment >= rule.valid_to:
        return None
    if line_indexes is not None:
        lines = tuple([ctx.lines[i] for i in line_indexes])
    elif rule.target.selects_all:
        lines = ctx.lines
    else:
        matches = rule.target.matches
        lines = tuple(s for s in ctx.lines if matches(s.product, s.line.unit_price))
    if not lines:
        return None
    if rule.line_check is not None and not rule.line_check(lines):
        return None
    if rule.check is not None and not rule.check(ctx):
        return None
    multiplier: Fraction | None = None
    note = ""
    for boost in rule.boosts:
        if all(check(ctx) for check in boost.checks) and (
            boost.line_check is None or boost.line_check(lines)
        ):
            multiplier = boost.multiplier if multiplier is None else boost.multiplier * multiplier
            note += boost.note
    return _Applicable(rule, lines, multiplier, note)


def _apply_stage(
    stage: list[list[_Applicable]], ctx: EvalContext, messages: list[str], promotions: list[str]
) -> None:
    """Groups sharing an `order`: each is computed on what was payable when the stage began
    (none sees the others' discounts), then their discounts add on every line, clipped to
    what is left in (group id, rule) order. So the listing order of groups never matters."""
    if len(stage) == 1:
        _apply_group(stage[0], ctx, messages, promotions)
        return
    lines = ctx.lines
    saved = [(s.remaining, s.locked, len(s.discounts)) for s in lines]
    pending: list[tuple[LineState, list[Discount], bool]] = []
    notes: dict[str, tuple[str | None, str]] = {}
    for group in stage:
        for item in group:
            notes[item.rule.rule.id] = (item.rule.rule.message, item.rule.rule.promotion_id)
        _apply_group(group, ctx, [], [])
        for state, (remaining, locked, count) in zip(lines, saved, strict=True):
            if len(state.discounts) > count:
                pending.append((state, state.discounts[count:], state.locked))
                del state.discounts[count:]
            state.remaining, state.locked = remaining, locked
    applied: set[str] = set()
    for state, discounts, lock in pending:
        for d in discounts:
            amount = min(d.amount, state.remaining)
            if amount <= 0:
                continue
            if amount != d.amount:
                reason = d.reason + " (clipped)" if d.reason else ""
                d = new_discount(d.rule_id, d.rule_name, amount, reason)
            state.remaining -= amount
            state.discounts.append(d)
            applied.add(d.rule_id)
        state.locked = state.locked or lock
    for rule_id, (message, promotion) in notes.items():
        if rule_id in applied:
            if message and message not in messages:
                messages.append(message)
            if promotion not in promotions:
                promotions.append(promotion)


def _apply_group(
    group: list[_Applicable], ctx: EvalContext, messages: list[str], promotions: list[str]
) -> None:
    """Competing (default): a line takes at most one rule's discount of the group.
    Compounding: every rule in turn, each on what is still payable. Additive: every rule on
    what was payable when the group began, the discounts added."""
    claimed: set[int] = set()
    stacking = group[0].rule.group.stacking
    if stacking == "compounding":
        for item in group:
            offer = _offer(item, ctx, claimed)
            if offer is not None:
                _commit(offer, set(), messages, promotions, ctx.explain)
        return
    if stacking == "additive":
        _apply_additive(group, ctx, messages, promotions)
        return
    if group[0].rule.group.resolution == "priority":
        for item in group:
            offer = _offer(item, ctx, claimed)
            if offer is not None:
                _commit(offer, claimed, messages, promotions, ctx.explain)
        return
    # max_discount: greedily take the largest offer (ties: earlier rule); only offers sharing
    # a line with the committed one can change, so only those are recomputed. A heap of
    # (-total, position) keeps this O(n log n); entries of recomputed offers go stale.
    offers = [_offer(item, ctx, claimed) for item in group]
    line_sets = [frozenset(s.index for s in item.lines) for item in group]
    heap = [(-_total(offer), i) for i, offer in enumerate(offers)]
    heapq.heapify(heap)
    done = [False] * len(group)
    while heap:
        negative_total, i = heapq.heappop(heap)
        if done[i] or -negative_total != _total(offers[i]):
            continue  # committed already, or a stale entry of a recomputed offer
        best = offers[i]
        if best is None or best.total <= 0:
            return
        done[i] = True
        _commit(best, claimed, messages, promotions, ctx.explain)
        touched = {state.index for state, _, _ in best.entries}
        for j, item in enumerate(group):
            if not done[j] and not line_sets[j].isdisjoint(touched):
                offers[j] = _offer(item, ctx, claimed)
                heapq.heappush(heap, (-_total(offers[j]), j))


def _apply_additive(
    group: list[_Applicable], ctx: EvalContext, messages: list[str], promotions: list[str]
) -> None:
    """Every rule's offer on the same amounts, then committed in (priority, id) order, each
    clipped to what is left. Plain line percents on one line add their rates exactly
    (15% + 5% is 20% of the line, rounded once) and share that amount by rate."""
    offers: list[_Offer | None] = []
    rated: dict[int, list[tuple[int, LineState, Fraction]]] = {}
    for position, item in enumerate(group):
        plan = item.rule.plan
        if (
            isinstance(plan, PercentPlan)
            and not plan.receipt_scope
            and plan.max_milli is None
            and item.rule.rule.max_discount is None
        ):
            rate = Fraction(plan.percent) * (1 if item.multiplier is None else item.multiplier)
            rate = min(rate, Fraction(BP_DENOMINATOR))
            for state in _targets(item, set()):
                rated.setdefault(state.index, []).append((position, state, rate))
            offers.append(_Offer(item, [], 0, False))
        else:
            offers.append(_offer(item, ctx, set()))
    for items in rated.values():
        state = items[0][1]
        total_rate = min(sum([rate for _, _, rate in items], Fraction(0)),
                         Fraction(BP_DENOMINATOR))
        amount = total_rate * state.remaining / BP_DENOMINATOR
        combined = div_round_half_up(amount.numerator, amount.denominator)
        common = lcm(*(rate.denominator for _, _, rate in items))
        weights = [rate.numerator * (common // rate.denominator) for _, _, rate in items]
        for (position, _, _), share in zip(
            items, allocate_largest_remainder(combined, weights), strict=True
        ):
            offer = offers[position]
            if share > 0 and offer is not None:
                offer.entries.append((state, share, 0))
    for offer in offers:
        if offer is None:
            continue
        entries = [
            (state, min(amount, state.remaining), detail)
            for state, amount, detail in offer.entries
            if state.remaining > 0
        ]
        if entries:
            offer.entries = entries
            _commit(offer, set(), messages, promotions, ctx.explain)


def _targets(item: _Applicable, claimed: set[int]) -> list[LineState]:
    """The rule's lines it may still discount: payable, unlocked, unclaimed in the group, and
    for an exclusive rule without any discount yet."""
    exclusive = item.rule.rule.exclusive
    return [
        s
        for s in item.lines
        if s.remaining > 0
        and not s.locked
        and s.index not in claimed
        and not (exclusive and s.discounts)
    ]


def _total(offer: _Offer | None) -> int:
    return 0 if offer is None else offer.total


def _offer(item: _Applicable, ctx: EvalContext, claimed: set[int]) -> _Offer | None:
    """The discounts the rule would give now: boosted, clipped to each line, capped."""
    rule = item.rule
    exclusive = rule.rule.exclusive
    targets = [  # _targets inlined: this is the hot path
        s
        for s in item.lines
        if s.remaining > 0
        and not s.locked
        and s.index not in claimed
        and not (exclusive and s.discounts)
    ]
    if not targets:
        return None
    entries: list[Entry] = []
    total = 0
    for state, amount, detail in rule.plan.propose(targets, ctx, item.multiplier):
        if amount > state.remaining:
            amount = state.remaining
        if amount > 0:
            entries.append((state, amount, detail))
            total += amount
    cap = rule.rule.max_discount
    if cap is None or total <= cap:
        return _Offer(item, entries, total, False) if entries else None
    shares = allocate_largest_remainder(cap, [amount for _, amount, _ in entries])
    capped = [
        (state, share, detail)
        for (state, _, detail), share in zip(entries, shares, strict=True)
        if share > 0
    ]
    return _Offer(item, capped, cap, True) if capped else None


def _commit(
    offer: _Offer, claimed: set[int], messages: list[str], promotions: list[str], explain: bool
) -> None:
    """Apply the offer to its lines; only now (and only when explaining) are the reason
    texts formatted."""
    item = offer.item
    r = item.rule.rule
    plan = item.rule.plan
    mult = item.multiplier
    note = item.boost_note
    if offer.capped and explain:
        note += f" (rule capped at {format_money(r.max_discount or 0)})"
    rule_id, name, exclusive = r.id, r.display_name, r.exclusive
    shared = plan.shared_reason
    text = ""
    for state, amount, detail in offer.entries:
        if explain and not (shared and text):
            text = plan.reason(state, detail, mult) + note
        state.remaining -= amount
        state.discounts.append(new_discount(rule_id, name, amount, text))
        claimed.add(state.index)
        if exclusive:
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
    hints: tuple[PromotionHint, ...],
) -> PricingResult:
    lines = tuple(
        [
            new_priced_line(
                line.line_no,
                line.sku,
                line.quantity_milli,
                line.unit_price,
                s.base,
                tuple(s.discounts),
                s.remaining,
            )
            for s in states
            for line in (s.line,)
        ]
    )
    subtotal = sum([s.base for s in states])
    total = sum([s.remaining for s in states])
    return new_result(
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
        hints=hints,
    )
