"""Phone and e-mail normalization: members are unique by these, so spelling must not matter."""

from __future__ import annotations

import re

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(raw: str, default_region: str = "UA") -> str:
    """Any common notation ('067 123 45 67', '+380671234567') -> E.164, or ValueError."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """Trimmed, lower-cased address, or ValueError when it cannot be an address."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("not a valid e-mail address")
    return email


def mask_phone(e164: str) -> str:
    """+380671234567 -> +38067***4567, safe to show on a till."""
    return e164[:6] + "***" + e164[-4:] if len(e164) > 10 else "***"
