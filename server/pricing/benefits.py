"""Benefit plans: a rule's benefit compiled once, asked per receipt for per-line amounts.

`propose` does the rule's own arithmetic (rates, promo prices, multibuys) on the lines'
current `remaining` amounts in exact integer math (a boost multiplier, a `Fraction`, only
enters as its numerator/denominator); the engine then clips and caps the result.
`reason` formats the cashier text for one committed entry: in a `max_discount` group most
offers lose, so texts are only built for the winners.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from server.pricing.allocation import allocate_largest_remainder
from server.pricing.context import EvalContext, LineState
from server.pricing.matching import LineMatcher
from server.pricing.money import (
    BP_DENOMINATOR,
    MILLI,
    div_round_half_up,
    format_money,
    format_quantity,
    format_rate,
    line_amount,
)
from server.pricing.multibuy import BundlePlan, Entry, MForNPlan, SetPlan
from server.pricing.schema_benefits import (
    AmountBenefit,
    BundlePriceBenefit,
    FixedPriceBenefit,
    MForNBenefit,
    PercentBenefit,
    SetBenefit,
)

REASON_CODES = ("PERCENT", "RECEIPT_PERCENT", "LINE_AMOUNT", "RECEIPT_AMOUNT", "UNIT_AMOUNT",
                "PROMO_PRICE", "M_FOR_N", "BUNDLE_PRICE", "SET", "POINTS")
"""Every reason code a discount can carry (POINTS: bonus points paid, `bonus.py`)."""
_AMOUNT_CODES = {"receipt": "RECEIPT_AMOUNT", "line": "LINE_AMOUNT", "unit": "UNIT_AMOUNT"}


class BenefitPlan(Protocol):
    """What the engine needs from a compiled benefit."""

    def propose(
        self, targets: list[LineState], ctx: EvalContext, mult: Fraction | None
    ) -> list[Entry]:
        """(line, amount, detail) per target line; `mult` is the product of matching boosts."""
        ...

    def reason(self, state: LineState, detail: int, mult: Fraction | None) -> str:
        """The cashier text of one entry `propose` returned (with the same `mult`)."""
        ...

    @property
    def shared_reason(self) -> bool:
        """True when every entry of one offer gets the same text (receipt-level amounts),
        so it is formatted once per offer."""
        ...

    @property
    def code(self) -> str:
        """The reason's compact code (one of REASON_CODES): what kind of benefit it is,
        sent instead of the text unless the caller asks for an explanation."""
        ...


def compile_benefit(benefit: object, trigger: LineMatcher | None) -> BenefitPlan:
    """The plan of a validated benefit (`trigger` is the compiled set trigger, if any)."""
    if isinstance(benefit, PercentBenefit):
        label = format_rate(benefit.percent)
        return PercentPlan(
            benefit.percent, benefit.scope == "receipt", label, _milli(benefit.max_units)
        )
    if isinstance(benefit, AmountBenefit):
        return AmountPlan(benefit.amount, benefit.scope, _milli(benefit.max_units))
    if isinstance(benefit, FixedPriceBenefit):
        return FixedPricePlan(
            benefit.price,
            f"promo price {format_money(benefit.price)} for SKU ",
            _milli(benefit.max_units),
        )
    if isinstance(benefit, MForNBenefit):
        return MForNPlan(benefit)
    if isinstance(benefit, BundlePriceBenefit):
        return BundlePlan(benefit)
    if isinstance(benefit, SetBenefit):
        assert trigger is not None, "set rules always compile a trigger matcher"
        return SetPlan(benefit, trigger)
    raise TypeError(f"unknown benefit {type(benefit).__name__}")


def _milli(units: int | None) -> int | None:
    return None if units is None else units * MILLI


def covered(targets: list[LineState], max_milli: int) -> list[tuple[LineState, int]]:
    """"At most N units get it": (line, quantity in thousandths that gets it), the lowest
    line numbers first, until `max_milli` is used up; a line may be covered in part."""
    left = max_milli
    out: list[tuple[LineState, int]] = []
    for state in sorted(targets, key=lambda s: s.line.line_no):
        if left <= 0:
            break
        take = min(state.line.quantity_milli, left)
        out.append((state, take))
        left -= take
    return out


def _cap_note(take: int, state: LineState, max_milli: int) -> str:
    return (
        f" ({format_quantity(take)} of {format_quantity(state.line.quantity_milli)} unit(s);"
        f" at most {format_quantity(max_milli)} per receipt)"
    )


def allocated(total: int, targets: list[LineState], detail: int) -> list[Entry]:
    """A receipt-level amount split over the targets by largest remainder."""
    if total <= 0:
        return []
    shares = allocate_largest_remainder(total, [s.remaining for s in targets])
    return [(s, share, detail) for s, share in zip(targets, shares, strict=True)]


@dataclass(frozen=True, slots=True)
class PercentPlan:
    """`percent` bp off each line, or off the lines together (receipt scope, allocated)."""

    percent: int
    receipt_scope: bool
    label: str
    """format_rate(percent), for the unboosted case."""
    max_milli: int | None = None
    """"At most N units get it" (line scope), in thousandths."""

    @property
    def shared_reason(self) -> bool:
        """Receipt scope: one text for the whole allocation."""
        return self.receipt_scope

    @property
    def code(self) -> str:
        """A percent off each line, or off the lines together."""
        return "RECEIPT_PERCENT" if self.receipt_scope else "PERCENT"

    def _rate(self, mult: Fraction | None) -> tuple[int, int]:
        """The (boosted) rate in bp as numerator/denominator, capped at 100 %."""
        if mult is None:
            return self.percent, 1
        numerator, denominator = self.percent * mult.numerator, mult.denominator
        if numerator >= BP_DENOMINATOR * denominator:
            return BP_DENOMINATOR, 1
        return numerator, denominator

    def propose(
        self, targets: list[LineState], ctx: EvalContext, mult: Fraction | None
    ) -> list[Entry]:
        """Half-up per line, or once on the sum and allocated; detail = the receipt base."""
        numerator, denominator = self._rate(mult)
        denominator *= BP_DENOMINATOR
        if self.max_milli is not None:
            return [
                (s, div_round_half_up(s.remaining * take * numerator,
                                      s.line.quantity_milli * denominator), take)
                for s, take in covered(targets, self.max_milli)
            ]
        if not self.receipt_scope:
            return [
                (s, div_round_half_up(s.remaining * numerator, denominator), 0) for s in targets
            ]
        base = sum([s.remaining for s in targets])
        return allocated(div_round_half_up(base * numerator, denominator), targets, base)

    def reason(self, state: LineState, detail: int, mult: Fraction | None) -> str:
        """'5% off SKU x' or '5% off 100.00 (receipt discount, allocated)'."""
        label = self.label
        if mult is not None:
            label = format_rate(min(Fraction(self.percent) * mult, Fraction(BP_DENOMINATOR)))
        if self.max_milli is not None:
            return f"{label} off SKU {state.line.sku}" + _cap_note(detail, state, self.max_milli)
        if not self.receipt_scope:
            return f"{label} off SKU {state.line.sku}"
        return f"{label} off {format_money(detail)} (receipt discount, allocated)"


@dataclass(frozen=True, slots=True)
class AmountPlan:
    """A fixed amount off the lines together, off each line, or per unit."""

    amount: int
    scope: str
    max_milli: int | None = None
    """"At most N units get it" (unit scope), in thousandths."""

    @property
    def shared_reason(self) -> bool:
        """Receipt scope: one text for the whole allocation."""
        return self.scope == "receipt"

    @property
    def code(self) -> str:
        """An amount off the receipt, off each line or per unit."""
        return _AMOUNT_CODES[self.scope]

    def _scaled(self, mult: Fraction | None) -> int:
        if mult is None:
            return self.amount
        return div_round_half_up(self.amount * mult.numerator, mult.denominator)

    def propose(
        self, targets: list[LineState], ctx: EvalContext, mult: Fraction | None
    ) -> list[Entry]:
        """Detail = the (boosted) amount for the receipt and line scopes."""
        if self.scope == "unit":
            numerator = self.amount * (1 if mult is None else mult.numerator)
            denominator = MILLI * (1 if mult is None else mult.denominator)
            if self.max_milli is not None:
                return [
                    (s, div_round_half_up(numerator * take, denominator), take)
                    for s, take in covered(targets, self.max_milli)
                ]
            return [
                (s, div_round_half_up(numerator * s.line.quantity_milli, denominator), 0)
                for s in targets
            ]
        amount = self._scaled(mult)
        if self.scope == "receipt":
            return allocated(min(amount, sum([s.remaining for s in targets])), targets, amount)
        return [(s, amount, amount) for s in targets]

    def reason(self, state: LineState, detail: int, mult: Fraction | None) -> str:
        """Texts per scope; the unit text shows the per-unit amount rounded half up."""
        if self.scope == "receipt":
            return f"{format_money(detail)} off the receipt (allocated)"
        if self.scope == "line":
            return f"{format_money(detail)} off SKU {state.line.sku}"
        text = f"{format_money(self._scaled(mult))} per unit off SKU {state.line.sku}"
        if self.max_milli is not None:
            text += _cap_note(detail, state, self.max_milli)
        return text


@dataclass(frozen=True, slots=True)
class FixedPricePlan:
    """Promo unit price: the discount brings the line down to price x quantity."""

    price: int
    prefix: str
    max_milli: int | None = None
    """"At most N units get it", in thousandths: only they get the promo price."""
    shared_reason = False
    code = "PROMO_PRICE"

    def propose(
        self, targets: list[LineState], ctx: EvalContext, mult: Fraction | None
    ) -> list[Entry]:
        """remaining - promo line amount, never negative; a boost scales the discount.
        With a unit cap: the covered share of remaining - price x covered, half up."""
        price = self.price
        if self.max_milli is not None:
            entries = []
            for s, take in covered(targets, self.max_milli):
                quantity = s.line.quantity_milli
                numerator = s.remaining * take * MILLI - price * take * quantity
                entries.append((s, div_round_half_up(max(0, numerator), quantity * MILLI), take))
        else:
            entries = [
                (s, max(0, s.remaining - line_amount(s.line.quantity_milli, price)), 0)
                for s in targets
            ]
        if mult is None:
            return entries
        n, d = mult.numerator, mult.denominator
        return [(s, div_round_half_up(amount * n, d), 0) for s, amount, _ in entries]

    def reason(self, state: LineState, detail: int, mult: Fraction | None) -> str:
        """'promo price 24.99 for SKU x'."""
        if self.max_milli is not None:
            return self.prefix + state.line.sku + _cap_note(detail, state, self.max_milli)
        return self.prefix + state.line.sku
