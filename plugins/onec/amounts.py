"""Exact conversion between 1C decimal strings and Kopilka integers.

Money becomes integer minor units and quantities integer thousandths through
:class:`decimal.Decimal`; a value that does not convert exactly is an error, never
silently rounded (a float would turn 0.1 + 0.2 into 0.30000000000000004).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")

#: 1C writes a currency as an ISO code, an ISO number or a local short name.
_CURRENCY_ALIASES = {
    "грн": "UAH", "грн.": "UAH", "гривня": "UAH", "980": "UAH",
    "руб": "RUB", "руб.": "RUB", "643": "RUB",
    "usd": "USD", "840": "USD", "$": "USD",
    "eur": "EUR", "978": "EUR", "€": "EUR",
    "pln": "PLN", "985": "PLN", "kzt": "KZT", "тг": "KZT", "398": "KZT",
}
#: ISO 4217 minor-unit exponents that are not 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3, "TND": 3}


def parse_decimal(raw: str) -> Decimal:
    """"1 234,50" or "1234.5" -> Decimal; raises ValueError for anything else."""
    cleaned = _SPACES.sub("", raw)
    if not _NUMBER.match(cleaned):
        raise ValueError(f"{raw!r} is not a decimal number")
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        raise ValueError(f"{raw!r} is not a decimal number") from None


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def to_minor(raw: str, currency: str) -> int:
    """A price string in ``currency`` -> integer minor units, exactly."""
    return _scaled(parse_decimal(raw), 10 ** exponent(currency), raw, "minor units")


def to_milli(raw: str) -> int:
    """A quantity string -> integer thousandths, exactly."""
    return _scaled(parse_decimal(raw), 1000, raw, "thousandths")


def _scaled(value: Decimal, factor: int, raw: str, unit: str) -> int:
    scaled = value * factor
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{raw!r} is not a whole number of {unit}")
    return int(scaled)


def format_minor(amount: int, currency: str) -> str:
    """Integer minor units -> "1234.50" as 1C reads it."""
    places = exponent(currency)
    value = Decimal(amount).scaleb(-places)
    return f"{value:.{places}f}"


def format_milli(quantity: int) -> str:
    """Integer thousandths -> "1.5" (no trailing zeros; 1C reads plain decimals)."""
    value = Decimal(quantity).scaleb(-3)
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def currency_code(raw: str, default: str | None = None) -> str | None:
    """Normalise 1C's currency designation to ISO 4217 letters; None if unknown/absent."""
    value = raw.strip()
    if not value:
        return default
    alias = _CURRENCY_ALIASES.get(value.lower())
    if alias:
        return alias
    if len(value) == 3 and value.isascii() and value.isalpha():
        return value.upper()
    raise ValueError(f"unknown currency {raw!r}: use an ISO 4217 code in 1C's price type")
