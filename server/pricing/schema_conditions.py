"""Schema of line selectors, rule conditions, validity and boosts."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from server.pricing.schema_types import (
    AccumulationPeriod,
    Count,
    Days,
    Frozen,
    HistoryPeriod,
    Milli,
    Money,
    Permille,
    PositiveMoney,
    TimeOfDay,
    Weekday,
)


class Selector(Frozen):
    """Lines matching ALL given fields (each field: ANY of its values). Empty = every line."""

    skus: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    subgroups: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    suppliers: tuple[str, ...] = ()
    price_categories: tuple[str, ...] = ()
    min_unit_price: Money | None = None
    max_unit_price: Money | None = None


class HistorySelector(Frozen):
    """Goods in past purchases: the history keeps SKUs and groups only."""

    skus: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


class ReceiptContains(Frozen):
    """The receipt holds at least `min_quantity_milli` (and `min_amount`) of matching lines."""

    match: tuple[Selector, ...] = Field(min_length=1)
    min_quantity_milli: Milli = 1
    min_amount: Money = 0


class DateRange(Frozen):
    """Local calendar dates, both ends inclusive."""

    start: date
    end: date


class TimeWindow(Frozen):
    """Local time of day [start, end); end < start wraps past midnight."""

    start: TimeOfDay
    end: TimeOfDay


class Accumulated(Frozen):
    """Member's purchases in the last `period` days (today included) reach `min_amount`.

    Scope: all stores, or only `stores` / stores of `networks` (a store group / partner).
    """

    period: AccumulationPeriod
    min_amount: PositiveMoney
    stores: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()


class PreviousPurchases(Frozen):
    """Member bought matching goods in the last `period` days (a week to a year)."""

    period: HistoryPeriod
    match: HistorySelector


class Conditions(Frozen):
    """All given conditions must hold (AND); list-valued ones mean ANY of the values."""

    stores: tuple[str, ...] = ()
    exclude_stores: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    card_types: tuple[str, ...] = ()
    member_required: bool = False
    receipt_contains: tuple[ReceiptContains, ...] = ()
    min_units: Count | None = None
    """Shorthand: the rule's target lines hold at least this many units (pieces or kg)."""
    min_amount: PositiveMoney | None = None
    """Shorthand: the rule's target lines add up to at least this amount (before discounts)."""
    min_receipt_amount: Money | None = None
    date_ranges: tuple[DateRange, ...] = ()
    weekdays: tuple[Weekday, ...] = ()
    time_windows: tuple[TimeWindow, ...] = ()
    accumulated: tuple[Accumulated, ...] = ()
    previous_purchases: tuple[PreviousPurchases, ...] = ()
    coupon: str | None = Field(default=None, min_length=1, max_length=64)
    """The promotion whose coupon must be presented on the receipt (docs/coupons.md): the
    rule is filed under this key in the index, so receipts without it never look at it."""


class AfterAccumulated(Frozen):
    """Valid once the member's lifetime purchases reached `amount` (optionally for N days)."""

    amount: PositiveMoney
    valid_days: Days | None = None


class Validity(Frozen):
    """When a rule is active: static range and/or member-relative (dynamic) windows.

    A date means the whole local day: `start` from 00:00 of that day, `end` through 23:59:59.
    A datetime without offset is read in the rule-set timezone; `end` is exclusive.
    """

    start: datetime | date | None = None
    end: datetime | date | None = None
    days_from_first_purchase: Days | None = None
    after_accumulated: AfterAccumulated | None = None


class Boost(Frozen):
    """Multiply the rule's rate or amount when the extra conditions also hold."""

    name: str = "boost"
    when: Conditions
    multiplier_permille: Permille
