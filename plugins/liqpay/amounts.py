"""Exact conversion between Kopilka's integer minor units and LiqPay's decimal amounts.

LiqPay takes and returns amounts in major units ("123.45", 123.45). Kopilka never uses
floats for money, so amounts are rendered from integers and parsed through ``Decimal``
(the JSON decoder hands us ``Decimal`` for numbers with a fraction).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: Currencies LiqPay accepts for payments, with their ISO 4217 minor-unit exponent.
CURRENCY_EXPONENTS = {"UAH": 2, "USD": 2, "EUR": 2}


def exponent_of(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"currency {currency!r} is not supported by LiqPay "
                         f"(supported: {', '.join(sorted(CURRENCY_EXPONENTS))})") from None


def render(amount_minor: int, currency: str) -> str:
    """12345 UAH -> "123.45"; only positive integers are payable."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise ValueError("amount_minor must be an integer number of minor units")
    if amount_minor <= 0:
        raise ValueError("amount_minor must be positive")
    exponent = exponent_of(currency)
    if exponent == 0:
        return str(amount_minor)
    major, minor = divmod(amount_minor, 10**exponent)
    return f"{major}.{minor:0{exponent}d}"


def parse(value: object, currency: str) -> int:
    """LiqPay's amount (JSON number, ``Decimal`` or string) -> exact minor units.

    Raises ``ValueError`` for anything that is not a whole number of minor units, so a
    malformed amount never becomes a silently rounded one.
    """
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"amount {value!r} is not a number")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"amount {value!r} is not a number") from exc
    if not amount.is_finite():
        raise ValueError(f"amount {value!r} is not a number")
    scaled = amount.scaleb(CURRENCY_EXPONENTS.get(currency, 2))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {value!r} has more decimals than {currency} allows")
    return int(scaled)
