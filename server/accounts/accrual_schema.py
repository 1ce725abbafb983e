"""The accrual rule set document (YAML or JSON), validated by pydantic.

See docs/bonus-rules.md for the meaning of every field and worked examples.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from server.documents import PATTERN_TEXTS
from server.org.model import known_time_zone

Bp = int  # basis points, 0..10000 (500 = 5%)
_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
_MD = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_HM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_HM24 = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
PATTERN_TEXTS.update({
    _ID: "must be 1-64 letters, digits or _ . : -",
    _MD: "must be a month and day, MM-DD",
    _HM: "must be a time HH:MM (00:00..23:59)",
    _HM24: "must be a time HH:MM (00:00..24:00)",
})


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _minor(value: object) -> object:
    """Money as minor units (10000) or as a marketer writes it: '100.00', '100' (text)."""
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,9})(?:[.,](\d{1,2}))?", value.strip())
        if match is None:
            raise ValueError("must be an amount like '100.00' or minor units like 10000")
        return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an amount like '100.00' or minor units like 10000")
    return value


MinorAmount = Annotated[int, BeforeValidator(_minor), Field(gt=0, le=10**12)]


class Award(Frozen):
    """How many points, in exactly one way:

    - `points` per `per` of the eligible amount, as a marketer says it ("5 points per
      100.00": `points: 5, per: "100.00"`), with `card_type_points` overriding `points`;
    - `percent_bp` / `card_type_bp` (the engine's own unit: basis points of the amount);
    - `points_per_unit` per piece (weighed lines: per kg) of the eligible lines;
    - `fixed_points` per receipt.
    1 point = 1 minor unit. Points are floored once per rule and receipt.
    """

    percent_bp: int | None = Field(default=None, ge=0, le=10_000)
    card_type_bp: dict[str, int] = Field(default_factory=dict)
    points: int | None = Field(default=None, ge=0, le=10_000_000)
    card_type_points: dict[str, int] = Field(default_factory=dict)
    per: MinorAmount = 100
    points_per_unit: int | None = Field(default=None, gt=0, le=10_000_000)
    fixed_points: int | None = Field(default=None, gt=0, le=10_000_000)

    @model_validator(mode="after")
    def _one_kind(self) -> Award:
        kinds = [
            self.percent_bp is not None or bool(self.card_type_bp),
            self.points is not None or bool(self.card_type_points),
            self.points_per_unit is not None,
            self.fixed_points is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of: points (with per), percent_bp/card_type_bp, "
                             "points_per_unit, fixed_points")
        if any(not 0 <= bp <= 10_000 for bp in self.card_type_bp.values()):
            raise ValueError("card_type_bp values must be 0..10000 basis points")
        if any(not 0 <= p <= 10_000_000 for p in self.card_type_points.values()):
            raise ValueError("card_type_points values must be 0..10000000 points")
        return self

    def rate(self, card_type: str | None) -> tuple[int, int]:
        """Points per minor unit of the eligible amount as (numerator, denominator): the
        engine's internal unit, whichever way the file wrote it."""
        if self.points is not None or self.card_type_points:
            if card_type is not None and card_type in self.card_type_points:
                return self.card_type_points[card_type], self.per
            return self.points or 0, self.per
        return self.rate_bp(card_type), 10_000

    def rate_bp(self, card_type: str | None) -> int:
        """The percent rate for a card type; the card type's own rate wins over percent_bp."""
        if card_type is not None and card_type in self.card_type_bp:
            return self.card_type_bp[card_type]
        return self.percent_bp or 0


class Exclude(Frozen):
    """Lines that never earn points from the rule (any match excludes the line)."""

    skus: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    delivery: bool = False
    """Delivery lines, as the rule set's `delivery` section defines them."""


class Delivery(Frozen):
    """Which lines are delivery (shipping, service) lines: by SKU or product group."""

    skus: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class Lifetime(Frozen):
    """When accrued points become spendable and when they expire."""

    activation_delay_days: int = Field(default=0, ge=0, le=3650)
    expiry_days: int | None = Field(default=None, gt=0, le=36500)
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> Lifetime:
        if self.expiry_days is not None and self.expires_at is not None:
            raise ValueError("give expiry_days or expires_at, not both")
        return self


class Schedule(Frozen):
    """Periodic rules: days of the week (ISO 1=Monday) and a local time window [from, to)."""

    weekdays: list[int] = Field(default_factory=list)
    time_from: str = Field(default="00:00", pattern=_HM)
    time_to: str = Field(default="24:00", pattern=_HM24)
    month_days: list[int] = Field(default_factory=list)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 7 for d in value):
            raise ValueError("weekdays are 1 (Monday) .. 7 (Sunday)")
        return value

    @field_validator("month_days")
    @classmethod
    def _month_days(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 31 for d in value):
            raise ValueError("month days are 1..31")
        return value


class Season(Frozen):
    """Seasonal rules: a yearly window of local dates, inclusive; may wrap over New Year."""

    from_date: str = Field(pattern=_MD)
    to_date: str = Field(pattern=_MD)


Trigger = Literal["purchase", "first_purchase", "birthday_purchase", "registration", "birthday"]
EVENT_TRIGGERS = frozenset({"registration", "birthday"})


class AccrualRule(Frozen):
    """One accrual rule. `kind` says which time condition it must carry."""

    id: str = Field(pattern=_ID)
    name: str = ""
    kind: Literal["permanent", "periodic", "seasonal", "special"] = "permanent"
    trigger: Trigger = "purchase"
    priority: int = 0
    stop: bool = False
    card_types: list[str] = Field(default_factory=list)
    stores: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    skus: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    exclude: Exclude = Exclude()
    min_amount_minor: int = Field(default=0, ge=0)
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    schedule: Schedule | None = None
    season: Season | None = None
    birthday_window_days: int = Field(default=0, ge=0, le=31)
    award: Award
    lifetime: Lifetime = Lifetime()

    @model_validator(mode="after")
    def _consistent(self) -> AccrualRule:
        if self.kind == "periodic" and self.schedule is None:
            raise ValueError("a periodic rule needs a schedule")
        if self.kind == "seasonal" and self.season is None:
            raise ValueError("a seasonal rule needs a season")
        if self.kind == "special" and (self.valid_from is None or self.valid_to is None):
            raise ValueError("a special rule needs valid_from and valid_to")
        if self.valid_from and self.valid_to and self.valid_from >= self.valid_to:
            raise ValueError("valid_from must be before valid_to")
        if self.trigger in EVENT_TRIGGERS:
            if self.award.fixed_points is None:
                raise ValueError(f"a {self.trigger} rule awards fixed_points")
            if (self.skus or self.groups or self.brands or self.stores or self.networks
                    or self.exclude != Exclude()):
                raise ValueError(f"a {self.trigger} rule has no receipt, so no line or store "
                                 "filters")
        return self


class Conversion(Frozen):
    """Cash <-> points rate: `cash_minor` minor units of cash are worth `points` points."""

    cash_minor: int = Field(default=1, gt=0, le=1_000_000)
    points: int = Field(default=1, gt=0, le=1_000_000)


class Reward(Frozen):
    """A rewards-catalogue entry: spend `points` for a product, a discount or a coupon.
    CalculateReceipt offers it when the member's balance allows (it does not spend them)."""

    id: str = Field(pattern=_ID)
    name: str = ""
    points: int = Field(gt=0, le=10_000_000)
    kind: Literal["product", "discount", "coupon"]
    sku: str | None = None
    amount_minor: int | None = Field(default=None, gt=0, le=10**12)
    coupon: str | None = Field(default=None, min_length=1, max_length=64)
    card_types: list[str] = Field(default_factory=list)
    """Only for these card types; empty = every card."""

    @model_validator(mode="after")
    def _what(self) -> Reward:
        needed = {"product": ("sku", self.sku), "discount": ("amount_minor", self.amount_minor),
                  "coupon": ("coupon", self.coupon)}[self.kind]
        if needed[1] is None:
            raise ValueError(f"a {self.kind} reward needs {needed[0]}")
        return self


class TierLevel(Frozen):
    """A card type a member holds while purchases over the period reach `min_amount_minor`."""

    card_type: str = Field(min_length=1, max_length=64)
    min_amount_minor: int = Field(ge=0, le=10**15)


class Tiers(Frozen):
    """Card types as tiers: the job moves each member's active card (of one of these types)
    to the highest level their purchases over the last `period_days` reach, up or down."""

    period_days: int = Field(default=365, ge=1, le=3660)
    levels: list[TierLevel] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _distinct(self) -> Tiers:
        types = [x.card_type for x in self.levels]
        if len(set(types)) != len(types):
            raise ValueError("each card type may be one level only")
        return self

    def level_for(self, spent: int) -> str:
        """The highest level `spent` reaches; the lowest when it reaches none."""
        ordered = sorted(self.levels, key=lambda x: (x.min_amount_minor, x.card_type))
        reached = [x for x in ordered if x.min_amount_minor <= spent]
        return (reached[-1] if reached else ordered[0]).card_type


class AccrualRuleSet(Frozen):
    """The whole accrual configuration, applied with `kopilka bonus-rules apply FILE`."""

    version: str = Field(min_length=1, max_length=64)
    timezone: str = "Europe/Kyiv"
    combination: Literal["maximum", "sum", "priority"] = "sum"
    conversion: Conversion = Conversion()
    delivery: Delivery = Delivery()
    rules: list[AccrualRule] = Field(default_factory=list)
    rewards: list[Reward] = Field(default_factory=list, max_length=1000)
    tiers: Tiers | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_time_zone(value)

    @model_validator(mode="after")
    def _unique_ids(self) -> AccrualRuleSet:
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {', '.join(duplicates)}")
        rewards = [r.id for r in self.rewards]
        twice = sorted({i for i in rewards if rewards.count(i) > 1})
        if twice:
            raise ValueError(f"duplicate reward ids: {', '.join(twice)}")
        return self


def local_time(value: str) -> dt.time | None:
    """'HH:MM' as a time; '24:00' (end of day) as None."""
    return None if value == "24:00" else dt.time.fromisoformat(value)
