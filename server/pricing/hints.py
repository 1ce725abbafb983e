"""Hints: promotions a receipt nearly qualifies for ("one more unit and one is free",
"spend 120.00 more for 10%").

Compiled once per rule (`compile_hint`: only rules with an amount or unit threshold or a
multibuy get one) and evaluated only over the candidate rules the index already found for
the receipt, with integer sums over their target lines: no rule is priced again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.pricing.conditions import Check, combine, compile_conditions
from server.pricing.context import EvalContext, LineState
from server.pricing.model import PromotionHint
from server.pricing.money import BP_DENOMINATOR, MILLI, format_money, format_rate
from server.pricing.schema import Rule
from server.pricing.schema_benefits import (
    AmountBenefit,
    BundlePriceBenefit,
    FixedPriceBenefit,
    MForNBenefit,
    PercentBenefit,
)

MAX_HINTS = 3
"""At most this many hints per receipt (in rule order): the cashier reads them aloud."""


@dataclass(frozen=True, slots=True)
class HintSpec:
    """What a rule needs besides its other conditions, for telling how close a receipt is."""

    check: Check | None
    """The rule's conditions without the thresholds below (and its member checks)."""
    min_receipt_amount: int | None
    min_amount: int | None
    min_units_milli: int | None
    multibuy: tuple[int, int, int | None] | None
    """(units per application, free units or 0 for a bundle, max applications)."""
    offer: str
    """What the customer gets, for the text: '10% off', '4 for 3'."""


def compile_hint(rule: Rule, member_checks: Sequence[Check], offer: str) -> HintSpec | None:
    """The hint of a rule with a threshold or a multibuy; None for any other rule."""
    cond = rule.conditions
    benefit = rule.benefit
    multibuy: tuple[int, int, int | None] | None = None
    if isinstance(benefit, MForNBenefit):
        multibuy = (benefit.buy, benefit.buy - benefit.pay, benefit.max_applications)
    elif isinstance(benefit, BundlePriceBenefit):
        multibuy = (benefit.quantity, 0, benefit.max_applications)
    if multibuy is None and cond.min_receipt_amount is None and cond.min_amount is None \
            and cond.min_units is None:
        return None
    rest = cond.model_copy(update={"min_receipt_amount": None, "min_amount": None,
                                   "min_units": None})
    return HintSpec(
        check=combine((*member_checks, *compile_conditions(rest))),
        min_receipt_amount=cond.min_receipt_amount or None,
        min_amount=cond.min_amount,
        min_units_milli=None if cond.min_units is None else cond.min_units * MILLI,
        multibuy=multibuy,
        offer=offer,
    )


def describe_offer(benefit: object) -> str:
    """What a benefit gives, short: '10% off', '4 for 3', '3 for 99.00', 'promo price 24.99'."""
    if isinstance(benefit, PercentBenefit):
        return f"{format_rate(benefit.percent)} off"
    if isinstance(benefit, AmountBenefit):
        return f"{format_money(benefit.amount)} off"
    if isinstance(benefit, FixedPriceBenefit):
        return f"promo price {format_money(benefit.price)}"
    if isinstance(benefit, MForNBenefit):
        return f"{benefit.buy} for {benefit.pay}"
    if isinstance(benefit, BundlePriceBenefit):
        return f"{benefit.quantity} for {format_money(benefit.price)}"
    return "the set offer"


def nearly(
    candidates: Sequence[tuple[str, str, HintSpec, tuple[LineState, ...]]],
    ctx: EvalContext,
    within_bp: int,
) -> list[PromotionHint]:
    """Hints for (rule id, name, spec, target lines) of candidate rules valid right now.

    An amount counts as near when the missing part is at most `within_bp` of the threshold;
    units when at most one more unit is missing (for a multibuy: exactly one more completes
    the next application)."""
    hints: list[PromotionHint] = []
    for rule_id, name, spec, lines in candidates:
        if len(hints) >= MAX_HINTS:
            break
        if not lines:
            continue
        hint = _hint(rule_id, name, spec, lines, ctx, within_bp)
        # the other conditions last: most receipts are far from (or past) the threshold
        if hint is not None and (spec.check is None or spec.check(ctx)):
            hints.append(hint)
    return hints


def _hint(rule_id: str, name: str, spec: HintSpec, lines: tuple[LineState, ...],
          ctx: EvalContext, within_bp: int) -> PromotionHint | None:
    label = f"{name} (rule {rule_id})"
    missing_amount = 0
    for threshold, have in (
        (spec.min_receipt_amount, ctx.subtotal),
        (spec.min_amount, sum([s.base for s in lines]) if spec.min_amount else 0),
    ):
        if threshold is not None and have < threshold:
            gap = threshold - have
            if gap * BP_DENOMINATOR > threshold * within_bp:
                return None
            missing_amount = max(missing_amount, gap)
    missing_units = 0
    if spec.min_units_milli is not None:
        have_milli = sum([s.line.quantity_milli for s in lines])
        if have_milli < spec.min_units_milli:
            missing_units = spec.min_units_milli - have_milli
            if missing_units > MILLI:
                return None
    if missing_amount or missing_units:
        parts = []
        if missing_units:
            parts.append(f"{_units(missing_units)} more")
        if missing_amount:
            parts.append(f"spend {format_money(missing_amount)} more")
        text = " and ".join(parts)
        return PromotionHint(rule_id, f"{text[0].upper()}{text[1:]} for {spec.offer}: {label}",
                             missing_units, missing_amount)
    if spec.multibuy is None:
        return None
    size, free, most = spec.multibuy
    units = sum([s.line.quantity_milli // MILLI for s in lines
                 if s.line.quantity_milli % MILLI == 0])
    if (most is not None and units // size >= most) or units % size != size - 1:
        return None
    if free:
        gets = f"{free} {'is' if free == 1 else 'are'} free"
        return PromotionHint(rule_id, f"One more unit and {gets} ({spec.offer}): {label}", MILLI)
    return PromotionHint(rule_id, f"One more unit for {spec.offer}: {label}", MILLI)


def _units(milli: int) -> str:
    if milli == MILLI:
        return "1 unit"
    whole, frac = divmod(milli, MILLI)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") + " unit(s)"
