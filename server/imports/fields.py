"""Field parsers for source rows: each returns the stored value or raises RowError."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers

from server.imports.model import RowError
from server.members.cards import is_valid_ean13
from server.members.contacts import normalize_email, normalize_phone

KYIV = ZoneInfo("Europe/Kyiv")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
CACHED = 1 << 16  # distinct values kept per parser: bounded, so memory stays flat

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


@lru_cache(maxsize=CACHED)
def _moment(raw: str) -> dt.datetime | None:
    """A receipt's lines repeat its time: parsed once per distinct value."""
    try:
        when = dt.datetime.fromisoformat(raw.replace(" ", "T", 1))
    except ValueError:
        try:
            day = date({"v": raw}, "v")
        except RowError:
            return None
        assert day is not None
        when = dt.datetime.combine(day, dt.time())
    return when.replace(tzinfo=KYIV) if when.tzinfo is None else when


def moment(row: dict[str, str], name: str, *, required: bool = False) -> dt.datetime | None:
    """A time; without a zone it is Kyiv's wall clock (1C exports local time)."""
    raw = row.get(name, "").strip()
    if not raw:
        if required:
            raise RowError(name, "required")
        return None
    when = _moment(raw)
    if when is None:
        raise RowError(name, "a date (YYYY-MM-DD or DD.MM.YYYY)")
    return when


@lru_cache(maxsize=CACHED)
def _phone(raw: str) -> str:
    """normalize_phone, with a fast path for numbers already in E.164 (what a site stores):
    only the validity check runs, and the answer is the one normalize_phone gives (the
    number formatted back must equal the input, else the full parse decides)."""
    if _E164.match(raw):
        for size in (1, 2, 3):  # country codes are prefix-free
            if int(raw[1:1 + size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                number = phonenumbers.PhoneNumber(country_code=int(raw[1:1 + size]),
                                                  national_number=int(raw[1 + size:]))
                if (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                        == raw and phonenumbers.is_valid_number(number)):
                    return raw
                break
    return normalize_phone(raw)


def phone(row: dict[str, str], name: str = "phone") -> str | None:
    raw = row.get(name, "").strip()
    if not raw:
        return None
    try:
        return _phone(raw)
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
    return value, not _ours(value)


@lru_cache(maxsize=CACHED)
def _ours(number: str) -> bool:
    """Sales repeat a member's card on every line: the check digit is computed once."""
    return is_valid_ean13(number)


def codes(row: dict[str, str], name: str, limit: int = 64) -> list[str]:
    """A `;` or `|` separated list."""
    raw = row.get(name, "").replace("|", ";")
    values = [v.strip() for v in raw.split(";") if v.strip()]
    for value in values:
        if len(value) > limit:
            raise RowError(name, f"each at most {limit} characters")
    return values
