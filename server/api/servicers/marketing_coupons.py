"""A campaign's or trigger's RecipientCoupon in and out of protobuf, and the extra right it
needs: whoever defines or starts one issues coupons, so besides the campaign right the
caller must hold the coupon issuer's (coupons.issue), as CouponService.IssueCoupon does."""

from __future__ import annotations

import datetime as dt

from kopilka.v1 import marketing_pb2 as pb

from server.api.convert import time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.auth.permissions import Permission
from server.errors import DomainError, ErrorKind, Violations
from server.marketing.coupons import CouponOffer, check_offer


def offer_from(message: pb.RecipientCoupon, field: str, now: dt.datetime) -> CouponOffer:
    """The offer, or INVALID_ARGUMENT naming `field.<name>`."""
    errors = Violations()
    valid_to = time_field(message, "valid_to_time", errors, f"{field}.valid_to_time")
    errors.raise_if_any()
    return check_offer(message.promotion_id, message.max_uses, message.valid_days, valid_to,
                       message.prefix, field, now)


def offer_pb(offer: CouponOffer | None) -> pb.RecipientCoupon | None:
    if offer is None:
        return None
    return pb.RecipientCoupon(promotion_id=offer.promotion_id, max_uses=offer.max_uses,
                              valid_days=offer.valid_days,
                              valid_to_time=timestamp(offer.valid_to), prefix=offer.prefix)


def may_issue_coupons(deps: ApiDeps) -> None:
    """PERMISSION_DENIED unless the caller may issue coupons."""
    needed = Permission.COUPONS_ISSUE
    if needed not in deps.access().permissions:
        raise DomainError(ErrorKind.PERMISSION_DENIED, "PERMISSION_DENIED",
                          f"{caller().label} lacks permission {needed} (a coupon for each "
                          "recipient issues coupons)", metadata={"permission": str(needed)})
