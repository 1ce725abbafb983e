"""The accrual rule set document (YAML or JSON), validated by pydantic.

See docs/bonus-rules.md for the meaning of every field and worked examples.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from server.org.model import known_time_zone

Bp = int  # basis points, 0..10000 (500 = 5%)
_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
_MD = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_HM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Award(Frozen):
    """How many points: a percent of the eligible amount (per card type) or a fixed number."""

    percent_bp: int | None = Field(default=None, ge=0, le=10_000)
    card_type_bp: dict[str, int] = Field(default_factory=dict)
    fixed_points: int | None = Field(default=None, gt=0, le=10_000_000)

    @model_validator(mode="after")
    def _one_kind(self) -> Award:
        percent = self.percent_bp is not None or bool(self.card_type_bp)
        if percent == (self.fixed_points is not None):
            raise ValueError("give either percent_bp/card_type_bp or fixed_points")
        if any(not 0 <= bp <= 10_000 for bp in self.card_type_bp.values()):
            raise ValueError("card_type_bp values must be 0..10000 basis points")
        return self

    def rate_bp(self, card_type: str | None) -> int:
        """The percent rate for a card type; the card type's own rate wins over percent_bp."""
        if card_type is not None and card_type in self.card_type_bp:
            return self.card_type_bp[card_type]
        return self.percent_bp or 0


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
    time_to: str = Field(default="24:00", pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
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
            if self.skus or self.groups or self.brands or self.stores or self.networks:
                raise ValueError(f"a {self.trigger} rule has no receipt, so no line or store "
                                 "filters")
        return self


class Conversion(Frozen):
    """Cash <-> points rate: `cash_minor` minor units of cash are worth `points` points."""

    cash_minor: int = Field(default=1, gt=0, le=1_000_000)
    points: int = Field(default=1, gt=0, le=1_000_000)


class AccrualRuleSet(Frozen):
    """The whole accrual configuration, applied with `kopilka bonus-rules apply FILE`."""

    version: str = Field(min_length=1, max_length=64)
    timezone: str = "Europe/Kyiv"
    combination: Literal["maximum", "sum", "priority"] = "sum"
    conversion: Conversion = Conversion()
    rules: list[AccrualRule] = Field(default_factory=list)

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
        return self


def local_time(value: str) -> dt.time | None:
    """'HH:MM' as a time; '24:00' (end of day) as None."""
    return None if value == "24:00" else dt.time.fromisoformat(value)
