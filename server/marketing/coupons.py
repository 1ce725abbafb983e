"""The personal coupon a campaign or trigger gives each recipient (docs/marketing.md).

A campaign issues one coupon per recipient when it starts, all in one batch (at most one
coupon per member in a batch: a unique index); a trigger issues one with each firing. The
coupons are issued by the one coupon issuer (server/db/engagement/coupons.py) and the
message shows the code as ``{{ coupon }}``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.engagement.coupons import check_prefix
from server.errors import Violations, invalid
from server.limits import MAX_COUPON_DAYS, MAX_COUPON_USES
from server.marketing.templates import uses_field


@dataclass(frozen=True, slots=True)
class CouponOffer:
    """What each recipient gets: a coupon of `promotion_id`, usable `max_uses` times, valid
    `valid_days` from its issue or until `valid_to` (neither: without end)."""

    promotion_id: str
    max_uses: int = 1
    valid_days: int = 0
    valid_to: dt.datetime | None = None
    prefix: str = ""

    def validity(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
        """(valid from, valid until) of a coupon issued at `now`."""
        if self.valid_days:
            return now, now + dt.timedelta(days=self.valid_days)
        return now, self.valid_to

    def as_json(self) -> dict[str, Any]:
        return {"promotion_id": self.promotion_id, "max_uses": self.max_uses,
                "valid_days": self.valid_days, "prefix": self.prefix,
                "valid_to": self.valid_to.isoformat() if self.valid_to else None}


def offer_of(stored: Mapping[str, Any] | str | None) -> CouponOffer | None:
    """The offer as stored (the JSON of `as_json`, as a mapping or text), or None."""
    if stored is None:
        return None
    if isinstance(stored, str):
        stored = json.loads(stored)
        assert isinstance(stored, Mapping)
    valid_to = stored.get("valid_to")
    return CouponOffer(str(stored["promotion_id"]), int(stored["max_uses"]),
                       int(stored["valid_days"]),
                       dt.datetime.fromisoformat(valid_to) if valid_to else None,
                       str(stored.get("prefix") or ""))


def check_offer(promotion_id: str, max_uses: int, valid_days: int,
                valid_to: dt.datetime | None, prefix: str, field: str,
                now: dt.datetime) -> CouponOffer:
    """The offer, or INVALID_ARGUMENT naming each bad field below `field`."""
    errors = Violations()
    if not promotion_id.strip():
        errors.add(f"{field}.promotion_id", "required: the promotion the coupon unlocks")
    if not 0 <= max_uses <= MAX_COUPON_USES:
        errors.add(f"{field}.max_uses", f"0 (= 1) to {MAX_COUPON_USES}")
    if not 0 <= valid_days <= MAX_COUPON_DAYS:
        errors.add(f"{field}.valid_days", f"0 (no end) to {MAX_COUPON_DAYS}")
    if valid_days and valid_to is not None:
        errors.add(f"{field}.valid_to_time", "give valid_days or valid_to_time, not both")
    elif valid_to is not None and valid_to <= now:
        errors.add(f"{field}.valid_to_time", "must be in the future")
    normalized = check_prefix(prefix)
    if normalized is None:
        errors.add(f"{field}.prefix", "at most 8 letters and digits without look-alikes "
                   "(no 0, 1, O, I, L, U)")
    errors.raise_if_any()
    return CouponOffer(promotion_id.strip(), max_uses or 1, valid_days, valid_to,
                       normalized or "")


def check_fits(texts: Mapping[str, tuple[str | None, str]], offer: CouponOffer | None,
               field: str) -> None:
    """A template that shows ``{{ coupon }}`` needs a coupon to show: refuse it without one
    (INVALID_ARGUMENT naming `field`), rather than send an empty code."""
    if offer is None and any(uses_field(text, "coupon") for subject, body in texts.values()
                             for text in (subject or "", body)):
        raise invalid(field, "required: the template shows {{ coupon }}", "TEMPLATE_INVALID")


def sample_code(offer: CouponOffer) -> str:
    """A stand-in as long as the offer's codes (prefix, 10 characters, check character),
    for estimates."""
    return offer.prefix + "X" * 11
