"""Field parsers for source rows: each returns the stored value or raises RowError."""

from __future__ import annotations

import datetime as dt
import re

from server.imports.model import RowError
from server.members.cards import is_valid_ean13
from server.members.contacts import normalize_email, normalize_phone

_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_TRUE = {"1", "true", "yes", "y", "так", "да", "+"}
_FALSE = {"0", "false", "no", "n", "ні", "нет", "-", ""}


def text(row: dict[str, str], name: str, limit: int, *, required: bool = False) -> str:
    value = row.get(name, "").strip()
    if required and not value:
        raise RowError(name, "required")
    if len(value) > limit:
        raise RowError(name, f"at most {limit} characters")
    return value


def code(row: dict[str, str], name: str, *, required: bool = True) -> str:
    value = text(row, name, 64, required=required)
    if value and not _CODE.match(value):
        raise RowError(name, "1-64 letters, digits, '_', '-', '.'")
    return value


def integer(row: dict[str, str], name: str, *, minimum: int | None = 0,
            maximum: int = 10**15, default: int | None = None) -> int:
    raw = row.get(name, "").strip().replace(" ", "")
    if not raw:
        if default is not None:
            return default
        raise RowError(name, "required")
    try:
        value = int(raw)
    except ValueError:
        raise RowError(name, "not a whole number (minor units, no decimal point)") from None
    if minimum is not None and value < minimum:
        raise RowError(name, "negative" if minimum == 0 and value < 0 else f"at least {minimum}")
    if value > maximum:
        raise RowError(name, f"at most {maximum}")
    return value


def flag(row: dict[str, str], name: str) -> bool:
    raw = row.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise RowError(name, "yes or no")


def date(row: dict[str, str], name: str) -> dt.date | None:
    raw = row.get(name, "").strip()
    if not raw:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise RowError(name, "a date (YYYY-MM-DD or DD.MM.YYYY)")


def moment(row: dict[str, str], name: str, *, required: bool = False) -> dt.datetime | None:
    """A time; without a zone it is Kyiv's wall clock (1C exports local time)."""
    raw = row.get(name, "").strip()
    if not raw:
        if required:
            raise RowError(name, "required")
        return None
    try:
        when = dt.datetime.fromisoformat(raw.replace(" ", "T", 1))
    except ValueError:
        day = date(row, name)
        assert day is not None
        when = dt.datetime.combine(day, dt.time())
    if when.tzinfo is None:
        from zoneinfo import ZoneInfo

        when = when.replace(tzinfo=ZoneInfo("Europe/Kyiv"))
    return when


def phone(row: dict[str, str], name: str = "phone") -> str | None:
    raw = row.get(name, "").strip()
    if not raw:
        return None
    try:
        return normalize_phone(raw)
    except ValueError as exc:
        raise RowError(name, str(exc)) from None


def email(row: dict[str, str], name: str = "email") -> str | None:
    raw = row.get(name, "").strip()
    if not raw:
        return None
    try:
        return normalize_email(raw)
    except ValueError as exc:
        raise RowError(name, str(exc)) from None


def card_number(row: dict[str, str], name: str = "card_number", *,
                required: bool = True) -> tuple[str, bool]:
    """(number, is legacy): our EAN-13 numbers, or a legacy number of up to 13 digits
    without our check digit, kept as it is and flagged."""
    value = row.get(name, "").strip().replace(" ", "")
    if not value:
        if required:
            raise RowError(name, "required")
        return "", False
    if not value.isdigit() or len(value) > 13:
        raise RowError(name, "up to 13 digits")
    return value, not is_valid_ean13(value)


def codes(row: dict[str, str], name: str, limit: int = 64) -> list[str]:
    """A `;` or `|` separated list."""
    raw = row.get(name, "").replace("|", ";")
    values = [v.strip() for v in raw.split(";") if v.strip()]
    for value in values:
        if len(value) > limit:
            raise RowError(name, f"each at most {limit} characters")
    return values
