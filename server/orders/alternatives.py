"""Alternatives for a missing line: products really in stock, of the line's group or brand,
within a price band of the line's price; accepted by the customer through a signed link
(single use, with an expiry) that replaces the line.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from server.errors import invalid

DEFAULT_BAND_BPS = 2000
DEFAULT_COUNT = 3
DEFAULT_TTL = dt.timedelta(days=1)
MAX_TTL = dt.timedelta(days=7)
PURPOSE = "web_order_offer"  # the signer's purpose label: such a token passes nowhere else


@dataclass(frozen=True, slots=True)
class Candidate:
    """A product that could stand in for the line."""

    sku: str
    name: str
    group: str
    brand: str
    unit_price: int
    in_stock_milli: int  # the most one store holds


@dataclass(frozen=True, slots=True)
class Offer:
    """An alternative offered; its link carries the id, signed."""

    id: uuid.UUID
    order_id: uuid.UUID
    line_no: int
    sku: str
    unit_price: int
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


def choose(sku: str, group: str, brand: str, quantity_milli: int, unit_price: int,
           candidates: Sequence[Candidate], band_bps: int, limit: int) -> list[Candidate]:
    """Same group or brand, in stock for the whole quantity somewhere, price within the band;
    same group and brand first, then the closest price."""
    if not 0 <= band_bps <= 10_000:
        raise invalid("price_band_bps", "0 to 10000 basis points")
    band = band_bps or DEFAULT_BAND_BPS
    fit = [c for c in candidates
           if c.sku != sku and ((group and c.group == group) or (brand and c.brand == brand))
           and c.in_stock_milli >= quantity_milli
           and abs(c.unit_price - unit_price) * 10_000 <= band * unit_price]
    fit.sort(key=lambda c: (not (c.group == group and c.brand == brand),
                            abs(c.unit_price - unit_price), c.sku))
    return fit[:limit or DEFAULT_COUNT]


def ttl(seconds: int) -> dt.timedelta:
    if seconds < 0 or dt.timedelta(seconds=seconds) > MAX_TTL:
        raise invalid("ttl_seconds", f"0 to {int(MAX_TTL.total_seconds())} seconds")
    return dt.timedelta(seconds=seconds) if seconds else DEFAULT_TTL
