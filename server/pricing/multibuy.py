"""Quantity-based benefits: M for N, bundle price (N for X) and sets (P of A -> Q of B).

Units are priced at the line's current remaining amount / quantity, so earlier discounts
are respected; the cheapest units are rewarded first (ties: lower line number).
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm

from server.pricing.allocation import allocate_largest_remainder
from server.pricing.context import LineState
from server.pricing.matching import LineMatcher
from server.pricing.money import (
    BP_DENOMINATOR,
    MILLI,
    div_round_half_up,
    format_money,
    format_quantity,
    format_rate,
    round_fraction,
)
from server.pricing.schema_benefits import BundlePriceBenefit, MForNBenefit, SetBenefit

Proposal = list[tuple[LineState, int, str]]


def _whole_units(targets: list[LineState]) -> list[tuple[LineState, int]]:
    """Piece lines only (weighed goods cannot be counted in units)."""
    return [
        (s, s.line.quantity_milli // MILLI)
        for s in targets
        if s.line.quantity_milli % MILLI == 0 and s.remaining > 0
    ]


def _unit_key(item: tuple[LineState, int]) -> tuple[Fraction, int]:
    state, units = item
    return Fraction(state.remaining, units), state.line.line_no


def propose_m_for_n(benefit: MForNBenefit, targets: list[LineState]) -> Proposal:
    """Every `buy` units pooled over the target lines, the cheapest `buy - pay` are free."""
    pool = sorted(_whole_units(targets), key=_unit_key)
    applications = sum(units for _, units in pool) // benefit.buy
    if benefit.max_applications is not None:
        applications = min(applications, benefit.max_applications)
    free = applications * (benefit.buy - benefit.pay)
    proposal: Proposal = []
    for state, units in pool:
        take = min(units, free)
        if take <= 0:
            break
        free -= take
        amount = div_round_half_up(state.remaining * take, units)
        reason = f"{benefit.buy} for {benefit.pay}: {take} free unit(s) of SKU {state.line.sku}"
        proposal.append((state, amount, reason))
    return proposal


def propose_bundle_price(benefit: BundlePriceBenefit, targets: list[LineState]) -> Proposal:
    """Each `quantity` units cost `price` together; bundles take the dearest units first."""
    pool = sorted(_whole_units(targets), key=_unit_key, reverse=True)
    bundles = sum(units for _, units in pool) // benefit.quantity
    if benefit.max_applications is not None:
        bundles = min(bundles, benefit.max_applications)
    amounts: dict[int, int] = {}
    units_in: dict[int, int] = {}
    states = {state.index: state for state, _ in pool}
    queue = [[state, units] for state, units in pool]
    for _ in range(bundles):
        members: list[tuple[LineState, int, int]] = []  # state, units taken, units on line
        need = benefit.quantity
        while need:
            item = queue[0]
            take = min(item[1], need)
            members.append((item[0], take, item[0].line.quantity_milli // MILLI))
            item[1] -= take
            need -= take
            if item[1] == 0:
                queue.pop(0)
        common = lcm(*(units for _, _, units in members))
        weights = [s.remaining * take * (common // units) for s, take, units in members]
        value = Fraction(sum(weights), common)
        discount = round_fraction(max(Fraction(0), value - benefit.price))
        for (state, take, _), share in zip(
            members, allocate_largest_remainder(discount, weights), strict=True
        ):
            amounts[state.index] = amounts.get(state.index, 0) + share
            units_in[state.index] = units_in.get(state.index, 0) + take
    label = f"{benefit.quantity} for {format_money(benefit.price)}"
    return [
        (states[i], amount, f"{label}: {units_in[i]} unit(s) of SKU {states[i].line.sku}")
        for i, amount in amounts.items()
    ]


def propose_set(
    benefit: SetBenefit,
    targets: list[LineState],
    all_lines: tuple[LineState, ...],
    trigger: LineMatcher,
) -> Proposal:
    """Per trigger.quantity bought, reward.quantity of the (cheapest) target is discounted.

    A line in both sets counts once: applications k satisfy k*P <= trigger units,
    k*Q <= target units and k*(P+Q) <= all units of both sets.
    """
    trig = {s.index for s in all_lines if trigger.matches(s.product, s.line.unit_price)}
    target_ids = {s.index for s in targets}
    t_only = sum(
        s.line.quantity_milli for s in all_lines if s.index in trig and s.index not in target_ids
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
    proposal: Proposal = []
    ordered = sorted(
        targets, key=lambda s: (Fraction(s.remaining, s.line.quantity_milli), s.line.line_no)
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
        proposal.append(
            (state, _reward_amount(benefit, state, take), _set_reason(benefit, state, take))
        )
    return proposal


def _reward_amount(benefit: SetBenefit, state: LineState, take: int) -> int:
    value = Fraction(state.remaining * take, state.line.quantity_milli)
    if benefit.reward.percent is not None:
        return round_fraction(value * benefit.reward.percent / BP_DENOMINATOR)
    promo = Fraction((benefit.reward.price or 0) * take, MILLI)
    return round_fraction(max(Fraction(0), value - promo))


def _set_reason(benefit: SetBenefit, state: LineState, take: int) -> str:
    reward = benefit.reward
    offer = (
        f"{format_rate(reward.percent)} off"
        if reward.percent is not None
        else f"at {format_money(reward.price or 0)} per unit"
    )
    return (
        f"set: {format_quantity(take)} of SKU {state.line.sku} {offer} "
        f"per {format_quantity(benefit.trigger.quantity_milli)} of the trigger set"
    )
