"""Audit rows keep personal data as it was; a viewer without members.read_personal sees it
masked, the same fields the member sale view hides (server/members/views.py)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from server.auth.permissions import Permission
from server.members.contacts import mask_phone
from server.members.model import PROFILE_FIELDS

# Every profile field but the first name (which a till sees too) is personal.
PERSONAL_KEYS = frozenset(PROFILE_FIELDS) - {"first_name"}
HIDDEN = "***"


def sees_personal(permissions: Collection[Permission]) -> bool:
    """Whether a viewer holding `permissions` sees audit values unmasked."""
    return Permission.MEMBERS_READ_PERSONAL in permissions


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
