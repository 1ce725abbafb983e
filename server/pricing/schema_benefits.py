"""Schema of rule benefits: what a matched rule gives (a tagged union on `type`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from server.pricing.schema_conditions import Selector
from server.pricing.schema_types import (
    Count,
    Frozen,
    Milli,
    Money,
    NonNegativeCount,
    Percent,
    PositiveMoney,
)


class PercentBenefit(Frozen):
    """`percent` off each target line, or off the target lines together (`scope: receipt`)."""

    type: Literal["percent"]
    percent: Percent
    scope: Literal["line", "receipt"] = "line"
    max_units: Count | None = None
    """At most this many units (pieces or kg) of the target get it, first lines first."""


class AmountBenefit(Frozen):
    """A fixed amount off the target lines together, off each line, or per unit (per kg)."""

    type: Literal["amount"]
    amount: PositiveMoney
    scope: Literal["receipt", "line", "unit"] = "receipt"
    max_units: Count | None = None
    """Unit scope only: at most this many units get the amount off."""


class FixedPriceBenefit(Frozen):
    """Promo price per unit: the discount makes the line cost exactly price x quantity."""

    type: Literal["fixed_price"]
    price: Money
    max_units: Count | None = None
    """At most this many units get the promo price; the rest keep theirs."""


class MForNBenefit(Frozen):
    """Buy `buy` units, pay for `pay`: the cheapest units are free, repeated per `buy`."""

    type: Literal["m_for_n"]
    buy: Count
    pay: NonNegativeCount
    max_applications: Count | None = None


class BundlePriceBenefit(Frozen):
    """Every `quantity` units of the target cost `price` together (e.g. 3 for 99.00)."""

    type: Literal["bundle_price"]
    quantity: Count
    price: Money
    max_applications: Count | None = None


class SetTrigger(Frozen):
    """The set that must be bought: `quantity_milli` of lines matching `match`."""

    match: tuple[Selector, ...] = Field(min_length=1)
    quantity_milli: Milli


class SetReward(Frozen):
    """What the trigger set earns on the target set: a percent off or a unit price."""

    quantity_milli: Milli
    percent: Percent | None = None
    price: Money | None = None


class SetBenefit(Frozen):
    """Per `trigger.quantity_milli` bought, `reward.quantity_milli` of the target is cheaper."""

    type: Literal["set"]
    trigger: SetTrigger
    reward: SetReward
    repeat: bool = True
    max_applications: Count | None = None


BENEFIT_TYPES = ("percent", "amount", "fixed_price", "m_for_n", "bundle_price", "set")

Benefit = Annotated[
    PercentBenefit
    | AmountBenefit
    | FixedPriceBenefit
    | MForNBenefit
    | BundlePriceBenefit
    | SetBenefit,
    Field(discriminator="type"),
]
