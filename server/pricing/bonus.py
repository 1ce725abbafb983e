"""Bonus points at pricing time: pay with points as a discount, and points to accrue.

1 point = 1 minor unit. Points use floor rounding (never promise a fraction of a point);
the full accrual engine (lots, expiry, rule competition) lives with the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.pricing.allocation import allocate_largest_remainder
from server.pricing.context import LineState
from server.pricing.model import Discount, MemberContext
from server.pricing.money import BP_DENOMINATOR
from server.pricing.schema import BonusSettings

BONUS_RULE_ID = "bonus_points"


@dataclass(frozen=True, slots=True)
class Redemption:
    """Outcome of paying with points."""

    applied: int
    max_redeemable: int
    message: str | None


def max_redeemable(total: int, settings: BonusSettings, member: MemberContext | None) -> int:
    """floor(total x max share), and never more than a known points balance."""
    cap = total * settings.max_redeem_share_bp // BP_DENOMINATOR
    if member is not None and member.points_balance is not None:
        cap = min(cap, max(member.points_balance, 0))
    return cap


def redeem(
    states: list[LineState],
    requested: int,
    settings: BonusSettings,
    member: MemberContext | None,
    explain: bool = True,
) -> Redemption:
    """Turn requested points into line discounts, allocated by largest remainder (with
    their reason text when `explain`)."""
    cap = max_redeemable(sum(s.remaining for s in states), settings, member)
    applied = min(requested, cap)
    message = None
    if requested > cap:
        message = f"Requested {requested} points; at most {cap} can be paid on this receipt"
    if applied > 0:
        shares = allocate_largest_remainder(applied, [s.remaining for s in states])
        reason = f"{applied} bonus points paid as a discount" if explain else ""
        for state, share in zip(states, shares, strict=True):
            if share:
                state.remaining -= share
                state.discounts.append(Discount(BONUS_RULE_ID, "Bonus points", share, reason))
    return Redemption(applied, cap, message)


def points_to_accrue(total: int, card_type: str | None, settings: BonusSettings) -> int:
    """floor(total x accrual rate of the card type); no card, no points."""
    if card_type is None:
        return 0
    rate = settings.accrual_bp.get(card_type, settings.default_accrual_bp)
    return total * rate // BP_DENOMINATOR
