"""Integer money arithmetic: the only place where rounding happens.

Money is int minor units (kopecks), quantities int thousandths, rates int basis points.
Every division goes through `div_round_half_up`, so the rounding rule is written once:
round half up (half away from zero) to the nearest kopeck.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

BP_DENOMINATOR = 10_000
"""Basis points in 100 %."""

MILLI = 1_000
"""Quantity thousandths in one piece (or one kg)."""


def div_round_half_up(numerator: int, denominator: int) -> int:
    """Return numerator/denominator rounded half away from zero, exactly."""
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((2 * -numerator + denominator) // (2 * denominator))


def round_fraction(value: Fraction) -> int:
    """Round an exact rational amount half up to whole minor units."""
    return div_round_half_up(value.numerator, value.denominator)


def line_amount(quantity_milli: int, unit_price: int) -> int:
    """Line amount = quantity x unit price, rounded half up once per line."""
    return div_round_half_up(quantity_milli * unit_price, MILLI)


def format_money(minor: int) -> str:
    """Render minor units as '12.34' for reason texts (no floats involved)."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_quantity(quantity_milli: int) -> str:
    """Render thousandths as '2' or '1.5' for reason texts."""
    whole, frac = divmod(quantity_milli, MILLI)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:03d}".rstrip("0")


def format_rate(rate_bp: Fraction | int) -> str:
    """Render basis points as '5%' or '2.5%' (exact, may show a fraction when boosted)."""
    if isinstance(rate_bp, int) and rate_bp % 100 == 0:
        return f"{rate_bp // 100}%"
    rate = Fraction(rate_bp) / 100
    if rate.denominator == 1:
        return f"{rate.numerator}%"
    hundredths = round_fraction(rate * 100)
    whole, frac = divmod(hundredths, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") + "%"


def format_ratio(ratio: Fraction) -> str:
    """Render a multiplier as '2' or '1.5' (boost notes)."""
    return format_rate(ratio * 100)[:-1]


def parse_percent_text(text: str) -> int:
    """Parse '5%' or '2.5%' into basis points exactly; at most two decimals allowed."""
    raw = text.strip()
    if not raw.endswith("%"):
        raise ValueError("percent text must end with '%', e.g. '5%' or '2.5%'")
    try:
        value = Decimal(raw[:-1].strip()) * 100
    except InvalidOperation as exc:
        raise ValueError(f"not a percent: {text!r}") from exc
    if value != value.to_integral_value():
        raise ValueError("percent may have at most two decimals (basis points)")
    return int(value)
