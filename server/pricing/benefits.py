"""Benefit calculators: turn a matched rule into per-line discount proposals.

Calculators compute the rule's own arithmetic (rates, promo prices, multibuys) on the
lines' current `remaining` amounts; the engine then caps and clips the result.
"""

from __future__ import annotations

from fractions import Fraction

from server.pricing.allocation import allocate_largest_remainder
from server.pricing.context import EvalContext, LineState
from server.pricing.matching import LineMatcher
from server.pricing.money import (
    BP_DENOMINATOR,
    format_money,
    format_rate,
    line_amount,
    percent_of,
    round_fraction,
    scale,
)
from server.pricing.multibuy import (
    Proposal,
    propose_bundle_price,
    propose_m_for_n,
    propose_set,
)
from server.pricing.schema_benefits import (
    AmountBenefit,
    BundlePriceBenefit,
    FixedPriceBenefit,
    MForNBenefit,
    PercentBenefit,
    SetBenefit,
)

ONE = Fraction(1)


def propose(
    benefit: object,
    targets: list[LineState],
    ctx: EvalContext,
    trigger: LineMatcher | None,
    multiplier: Fraction | None,
) -> Proposal:
    """Discounts the benefit gives on the eligible target lines; `multiplier` is the product
    of the matching boosts (None: no boost)."""
    if isinstance(benefit, PercentBenefit):
        return _percent(benefit, targets, multiplier)
    if isinstance(benefit, AmountBenefit):
        return _amount(benefit, targets, multiplier)
    if isinstance(benefit, FixedPriceBenefit):
        proposal = _fixed_price(benefit, targets)
    elif isinstance(benefit, SetBenefit):
        assert trigger is not None, "set rules always compile a trigger matcher"
        proposal = propose_set(benefit, targets, ctx.lines, trigger)
    elif isinstance(benefit, MForNBenefit):
        proposal = propose_m_for_n(benefit, targets)
    elif isinstance(benefit, BundlePriceBenefit):
        proposal = propose_bundle_price(benefit, targets)
    else:
        raise TypeError(f"unknown benefit {type(benefit).__name__}")
    if multiplier is None:
        return proposal
    return [(s, scale(amount, multiplier), reason) for s, amount, reason in proposal]


def _percent(benefit: PercentBenefit, targets: list[LineState], mult: Fraction | None) -> Proposal:
    rate: int | Fraction = benefit.percent
    if mult is not None:
        rate = min(Fraction(benefit.percent) * mult, Fraction(BP_DENOMINATOR))
    label = format_rate(rate)
    if benefit.scope == "line":
        return [
            (s, percent_of(s.remaining, rate), f"{label} off SKU {s.line.sku}") for s in targets
        ]
    base = sum(s.remaining for s in targets)
    total = percent_of(base, rate)
    reason = f"{label} off {format_money(base)} (receipt discount, allocated)"
    return _allocated(total, targets, reason)


def _amount(benefit: AmountBenefit, targets: list[LineState], mult: Fraction | None) -> Proposal:
    mult = ONE if mult is None else mult
    amount = scale(benefit.amount, mult)
    if benefit.scope == "receipt":
        total = min(amount, sum(s.remaining for s in targets))
        return _allocated(total, targets, f"{format_money(amount)} off the receipt (allocated)")
    if benefit.scope == "line":
        return [(s, amount, f"{format_money(amount)} off SKU {s.line.sku}") for s in targets]
    per_unit = Fraction(benefit.amount) * mult
    return [
        (
            s,
            round_fraction(per_unit * s.line.quantity_milli / 1000),
            f"{format_money(round_fraction(per_unit))} per unit off SKU {s.line.sku}",
        )
        for s in targets
    ]


def _fixed_price(benefit: FixedPriceBenefit, targets: list[LineState]) -> Proposal:
    proposal: Proposal = []
    for s in targets:
        promo = line_amount(s.line.quantity_milli, benefit.price)
        reason = f"promo price {format_money(benefit.price)} for SKU {s.line.sku}"
        proposal.append((s, max(0, s.remaining - promo), reason))
    return proposal


def _allocated(total: int, targets: list[LineState], reason: str) -> Proposal:
    if total <= 0:
        return []
    shares = allocate_largest_remainder(total, [s.remaining for s in targets])
    return [(s, share, reason) for s, share in zip(targets, shares, strict=True)]
