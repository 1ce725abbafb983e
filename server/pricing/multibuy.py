"""Quantity-based benefits: M for N, bundle price (N for X) and sets (P of A -> Q of B).

Units are priced at the line's current remaining amount / quantity, so earlier discounts
are respected; the cheapest units are rewarded first (ties: lower line number). Unit prices
are compared exactly without `Fraction`: over a common multiple L of the denominators,
a/b < c/d  <=>  a*(L/b) < c*(L/d).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm

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
)
from server.pricing.schema_benefits import BundlePriceBenefit, MForNBenefit, SetBenefit

Entry = tuple[LineState, int, int]
"""(line, discount amount, detail for the reason text, e.g. units)."""


def _whole_units(targets: list[LineState]) -> list[tuple[LineState, int]]:
    """Piece lines only (weighed goods cannot be counted in units)."""
    return [
        (s, s.line.quantity_milli // MILLI)
        for s in targets
        if s.line.quantity_milli % MILLI == 0 and s.remaining > 0
    ]


def _by_unit_price(
    items: list[tuple[LineState, int]], *, reverse: bool = False
) -> list[tuple[LineState, int]]:
    """Sort (line, units) by remaining/units, then line number (exact integer keys)."""
    common = lcm(*(units for _, units in items))
    return sorted(
        items,
        key=lambda item: (item[0].remaining * (common // item[1]), item[0].line.line_no),
        reverse=reverse,
    )


def _scaled(entries: list[Entry], mult: Fraction | None) -> list[Entry]:
    """A boost multiplies the computed discount."""
    if mult is None:
        return entries
    n, d = mult.numerator, mult.denominator
    return [(s, div_round_half_up(amount * n, d), detail) for s, amount, detail in entries]


@dataclass(slots=True)
class _Units:
    """A line's whole units still free to join a bundle."""

    state: LineState
    left: int


@dataclass(frozen=True, slots=True)
class MForNPlan:
    """Every `buy` units pooled over the target lines, the cheapest `buy - pay` are free."""

    benefit: MForNBenefit
    shared_reason = False
    code = "M_FOR_N"

    def propose(
        self, targets: list[LineState], ctx: EvalContext, mult: Fraction | None
    ) -> list[Entry]:
        """Detail = free units on the line."""
        benefit = self.benefit
        pool = _by_unit_price(_whole_units(targets))
        applications = sum(units for _, units in pool) // benefit.buy
        if benefit.max_applications is not None:
            applications = min(applications, benefit.max_applications)
        free = applications * (benefit.buy - benefit.pay)
        entries: list[Entry] = []
        for state, units in pool:
            take = min(units, free)
            if take <= 0:
                break
            free -= take
            entries.append((state, div_round_half_up(state.remaining * take, units), take))
        return _scaled(entries, mult)

    def reason(self, state: LineState, detail: int, mult: Fraction | None) -> str:
        """'3 for 2: 1 free unit(s) of SKU x'."""
        benefit = self.benefit
        return f"{benefit.buy} for {benefit.pay}: {detail} free unit(s) of SKU {state.line.sku}"


@dataclass(frozen=True, slots=True)
class BundlePlan:
    """Each `quantity` units cost `price` together; bundles take the dearest units first."""

    benefit: BundlePriceBenefit
    shared_reason = False
    code = "BUNDLE_PRICE"

    def propose(
        self, targets: list[LineState], ctx: EvalContext, mult: Fraction | None
    ) -> list[Entry]:
        """Detail = units of the line inside bundles."""
        benefit = self.benefit
        pool = _by_unit_price(_whole_units(targets), reverse=True)
        bundles = sum(units for _, units in pool) // benefit.quantity
        if benefit.max_applications is not None:
            bundles = min(bundles, benefit.max_applications)
        amounts: dict[int, int] = {}
        units_in: dict[int, int] = {}
        states = {state.index: state for state, _ in pool}
        queue = [_Units(state, units) for state, units in pool]
        for _ in range(bundles):
            members: list[tuple[LineState, int, int]] = []  # state, units taken, units on line
            need = benefit.quantity
            while need:
                item = queue[0]
                take = min(item.left, need)
                members.append((item.state, take, item.state.line.quantity_milli // MILLI))
                item.left -= take
                need -= take
                if item.left == 0:
                    queue.pop(0)
            common = lcm(*(units for _, _, units in members))
            weights = [s.remaining * take * (common // units) for s, take, units in members]
            # value = sum(weights) / common; discount = max(0, value - price), half up
            discount = div_round_half_up(max(0, sum(weights) - benefit.price * common), common)
            for (state, take, _), share in zip(
                members, allocate_largest_remainder(discount, weights), strict=True
            ):
                amounts[state.index] = amounts.get(state.index, 0) + share
                units_in[state.index] = units_in.get(state.index, 0) + take
        entries = [(states[i], amount, units_in[i]) for i, amount in amounts.items()]
        return _scaled(entries, mult)

    def reason(self, state: LineState, detail: int, mult: Fraction | None) -> str:
        """'3 for 99.00: 2 unit(s) of SKU x'."""
        benefit = self.benefit
        label = f"{benefit.quantity} for {format_money(benefit.price)}"
        return f"{label}: {detail} unit(s) of SKU {state.line.sku}"


@dataclass(frozen=True, slots=True)
class SetPlan:
    """Per trigger.quantity bought, reward.quantity of the (cheapest) target is discounted.

    A line in both sets counts once: applications k satisfy k*P <= trigger units,
    k*Q <= target units and k*(P+Q) <= all units of both sets.
    """

    benefit: SetBenefit
    trigger: LineMatcher
    shared_reason = False
    code = "SET"

    def propose(
        self, targets: list[LineState], ctx: EvalContext, mult: Fraction | None
    ) -> list[Entry]:
        """Detail = rewarded quantity (thousandths) on the line."""
        benefit, all_lines = self.benefit, ctx.lines
        trigger = self.trigger
        trig = {s.index for s in all_lines if trigger.matches(s.product, s.line.unit_price)}
        target_ids = {s.index for s in targets}
        t_only = sum(
            s.line.quantity_milli
            for s in all_lines
            if s.index in trig and s.index not in target_ids
        )
        both = sum(s.line.quantity_milli for s in targets if s.index in trig)
        r_only = sum(s.line.quantity_milli for s in targets if s.index not in trig)
        p, q = benefit.trigger.quantity_milli, benefit.reward.quantity_milli
        k = min((t_only + both) // p, (r_only + both) // q, (t_only + both + r_only) // (p + q))
        if not benefit.repeat:
            k = min(k, 1)
        if benefit.max_applications is not None:
            k = min(k, benefit.max_applications)
        need = k * q
        shared_cap = both - max(0, k * p - t_only)  # shared units not needed as trigger
        entries: list[Entry] = []
        common = lcm(*(s.line.quantity_milli for s in targets))
        ordered = sorted(
            targets,
            key=lambda s: (s.remaining * (common // s.line.quantity_milli), s.line.line_no),
        )
        for state in ordered:
            if need <= 0:
                break
            available = state.line.quantity_milli
            if state.index in trig:
                available = min(available, shared_cap)
            take = min(available, need)
            if take <= 0:
                continue
            need -= take
            if state.index in trig:
                shared_cap -= take
            entries.append((state, self._reward_amount(state, take), take))
        return _scaled(entries, mult)

    def _reward_amount(self, state: LineState, take: int) -> int:
        """value = remaining x take / quantity; percent of it, or value - price x take."""
        reward, quantity = self.benefit.reward, state.line.quantity_milli
        if reward.percent is not None:
            numerator = state.remaining * take * reward.percent
            return div_round_half_up(numerator, quantity * BP_DENOMINATOR)
        numerator = state.remaining * take * MILLI - (reward.price or 0) * take * quantity
        return div_round_half_up(max(0, numerator), quantity * MILLI)

    def reason(self, state: LineState, detail: int, mult: Fraction | None) -> str:
        """'set: 1 of SKU x 50% off per 2 of the trigger set'."""
        benefit = self.benefit
        reward = benefit.reward
        offer = (
            f"{format_rate(reward.percent)} off"
            if reward.percent is not None
            else f"at {format_money(reward.price or 0)} per unit"
        )
        return (
            f"set: {format_quantity(detail)} of SKU {state.line.sku} {offer} "
            f"per {format_quantity(benefit.trigger.quantity_milli)} of the trigger set"
        )
