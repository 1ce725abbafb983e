"""Validated scalar types for the rule-set schema: integers only, clear range messages."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from server.pricing.money import parse_percent_text


class Frozen(BaseModel):
    """Base for schema models: immutable, unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _no_float(value: object) -> object:
    """Reject floats, bools and numeric strings: money and rates are exact integers."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer (no floats, no strings)")
    return value


def _between(low: int, high: int | None, unit: str = "") -> AfterValidator:
    suffix = f" {unit}" if unit else ""

    def check(value: int) -> int:
        if value < low or (high is not None and value > high):
            if high is None:
                raise ValueError(f"must be >= {low}{suffix}")
            raise ValueError(f"must be between {low} and {high}{suffix}")
        return value

    return AfterValidator(check)


def _percent_input(value: object) -> object:
    """Accept basis points (500) or a percent text ('5%', '2.5%')."""
    if isinstance(value, str):
        return parse_percent_text(value)
    return _no_float(value)


Money = Annotated[int, BeforeValidator(_no_float), _between(0, None)]
PositiveMoney = Annotated[int, BeforeValidator(_no_float), _between(1, None)]
Milli = Annotated[int, BeforeValidator(_no_float), _between(1, None)]
Count = Annotated[int, BeforeValidator(_no_float), _between(1, 1_000_000)]
NonNegativeCount = Annotated[int, BeforeValidator(_no_float), _between(0, 1_000_000)]
Days = Annotated[int, BeforeValidator(_no_float), _between(1, 3660, "days")]
Priority = Annotated[int, BeforeValidator(_no_float), _between(0, 1_000_000)]
Permille = Annotated[int, BeforeValidator(_no_float), _between(1, 100_000)]
Percent = Annotated[int, BeforeValidator(_percent_input), _between(1, 10_000)]
"""A discount rate in basis points (1..10000 = 0.01 %..100 %), or text like '5%'."""
ShareBp = Annotated[int, BeforeValidator(_percent_input), _between(0, 10_000)]
"""A share/accrual rate in basis points, 0 allowed."""

NAMED_PERIODS = {"week": 7, "month": 30, "quarter": 91, "half_year": 182, "year": 365}


def _period_input(value: object) -> object:
    if isinstance(value, str):
        if value not in NAMED_PERIODS:
            raise ValueError(f"must be a number of days or one of {sorted(NAMED_PERIODS)}")
        return NAMED_PERIODS[value]
    return _no_float(value)


HistoryPeriod = Annotated[int, BeforeValidator(_period_input), _between(7, 366, "days")]
"""Look-back for previous purchases: a week to a year (seed limit)."""
AccumulationPeriod = Annotated[int, BeforeValidator(_period_input), _between(1, 366, "days")]

WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


def _weekday_input(value: object) -> object:
    if isinstance(value, str):
        key = value.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ValueError("must be mon..sun or ISO 1..7")
        return WEEKDAYS[key]
    return _no_float(value)


Weekday = Annotated[int, BeforeValidator(_weekday_input), _between(1, 7)]


def _time_input(value: object) -> object:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a quoted 'HH:MM' time")
    try:
        hours, minutes = (int(part) for part in value.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise ValueError("must be 'HH:MM' (00:00..23:59)") from exc


TimeOfDay = Annotated[time, BeforeValidator(_time_input)]
