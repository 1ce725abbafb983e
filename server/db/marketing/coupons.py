"""The personal coupons of campaigns and triggers, through the one coupon issuer
(`issue_coupons`: the rows, the audit and a coupon.issued event per coupon), in the caller's
transaction.

A campaign issues its recipients' coupons when it starts, in a batch of its own: at most
one per member (uq_coupons_batch_member), and a campaign starts once (draft -> running, a
retried StartCampaign gets its stored answer). A trigger issues one with each firing, which
is unique per trigger and event, so a redelivered event issues nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from server.db.engagement.coupons import issue_coupons
from server.db.marketing.campaigns import Coupons, eligible
from server.db.marketing.repo import ListRow
from server.engagement.coupons import Coupon, CouponSource
from server.errors import DomainError, ErrorKind
from server.marketing.coupons import CouponOffer


async def issue_for_campaign(conn: asyncpg.Connection, campaign_id: uuid.UUID,
                             found: ListRow, channel: str, default_language: str,
                             offer: CouponOffer, issued_by: str, now: dt.datetime) -> Coupons:
    """One coupon for each member the start will queue; the batch is kept on the campaign."""
    valid_from, valid_to = offer.validity(now)
    if valid_to is not None and valid_to <= now:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "CAMPAIGN_COUPON_EXPIRED",
                          "the campaign's coupons would be expired already (valid_to_time "
                          "has passed); create the campaign again",
                          metadata={"valid_to": valid_to.isoformat()})
    batch_id = uuid.uuid4()
    members = await eligible(conn, found, channel, default_language)
    if members:
        await issue_coupons(
            conn, count=len(members), member_ids=members, promotion_id=offer.promotion_id,
            max_uses=offer.max_uses, valid_from=valid_from, valid_to=valid_to, member_id=None,
            batch_id=batch_id, source=CouponSource.CAMPAIGN, issued_by=issued_by,
            prefix=offer.prefix)
    await conn.execute("UPDATE campaigns SET coupon_batch_id = $2 WHERE id = $1", campaign_id,
                       batch_id)
    return Coupons(batch_id)


async def issue_for_firing(conn: asyncpg.Connection, offer: CouponOffer,
                           member_id: uuid.UUID, trigger_code: str, firing_id: int,
                           now: dt.datetime) -> Coupon:
    """The coupon of one trigger firing, kept on the firing."""
    valid_from, valid_to = offer.validity(now)
    [coupon] = await issue_coupons(
        conn, count=1, promotion_id=offer.promotion_id, max_uses=offer.max_uses,
        valid_from=valid_from, valid_to=valid_to, member_id=member_id, batch_id=None,
        source=CouponSource.TRIGGER, issued_by=f"trigger:{trigger_code}", prefix=offer.prefix)
    await conn.execute("UPDATE trigger_firings SET coupon_id = $2 WHERE id = $1", firing_id,
                       coupon.id)
    return coupon
