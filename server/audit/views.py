"""Audit rows keep personal data as it was; a viewer whose role does not show every personal
member field unmasked (the role's member view, server/members/views.py) sees it masked."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from server.members.contacts import mask_phone
from server.members.model import PROFILE_FIELDS

# Every profile field but the first name (which a till sees too) is personal.
PERSONAL_KEYS = frozenset(PROFILE_FIELDS) - {"first_name"}
HIDDEN = "***"


def sees_personal(fields: Collection[str], mask_phone: bool) -> bool:
    """Whether a viewer whose member view shows `fields` (phone masked or not) sees audit
    values unmasked: only when it shows every personal field as it is."""
    return not mask_phone and set(fields) >= PERSONAL_KEYS


def masked(value: Any) -> Any:
    """A copy of a JSON value with personal fields masked at any depth."""
    if isinstance(value, dict):
        return {k: _mask_field(k, v) if k in PERSONAL_KEYS else masked(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _mask_field(name: str, value: Any) -> Any:
    if value in (None, "", [], {}):
        return value
    if name == "phone" and isinstance(value, str):
        return mask_phone(value)
    return HIDDEN
