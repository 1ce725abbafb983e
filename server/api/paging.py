"""Opaque keyset page tokens: (time, id) of the last item, base64 so callers don't parse it."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from server.errors import invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int, field_path: str = "page.page_size") -> int:
    if requested < 0:
        raise invalid(field_path, "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(when: dt.datetime, item_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{when.isoformat()}|{item_id}".encode()).decode()


def decode_token(
    token: str, field_path: str = "page.page_token"
) -> tuple[dt.datetime, uuid.UUID] | None:
    if not token:
        return None
    try:
        when, item_id = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        moment = dt.datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("a page token's time is in UTC")
        # a forged offset can carry the time past year 1 or 9999: OverflowError, not INTERNAL
        return moment.astimezone(dt.UTC), uuid.UUID(item_id)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise invalid(field_path, "not a token from a previous page") from None


def encode_key_token(key: str) -> str:
    """A token for lists keyed by a text (codes): the last item's key."""
    return base64.urlsafe_b64encode(f"k|{key}".encode()).decode()


def decode_key_token(token: str, field_path: str = "page_token") -> str | None:
    if not token:
        return None
    try:
        kind, _, key = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
    except (ValueError, UnicodeDecodeError):
        kind, key = "", ""
    if kind != "k" or not key:
        raise invalid(field_path, "not a token from a previous page")
    return key
