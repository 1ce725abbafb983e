"""Cash account <-> points conversion at the configured rate, never creating value.

Rate: `cash_minor` minor units of cash are worth `points` points. The amount credited is
rounded down, and only the part of the source that buys whole units is debited, so
converting back and forth can never mint a kopeck.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Conversion:
    """How much leaves the source and how much arrives at the target."""

    debited: int
    credited: int


def cash_to_points(cash_minor: int, rate_cash: int, rate_points: int) -> Conversion:
    """Spend up to `cash_minor` of cash for whole points."""
    points = cash_minor * rate_points // rate_cash
    # the least cash that buys `points`: ceil(points * rate_cash / rate_points)
    return Conversion(-(-points * rate_cash // rate_points), points)


def points_to_cash(points: int, rate_cash: int, rate_points: int) -> Conversion:
    """Spend up to `points` for whole minor units of cash."""
    cash = points * rate_cash // rate_points
    return Conversion(-(-cash * rate_points // rate_cash), cash)
