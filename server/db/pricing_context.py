"""The member's pricing context in ONE query: card, card type, history aggregates, balance.

CalculateReceipt touches the database at most once, here. Everything the rules need about
the member's past (daily purchase aggregates, first promotional purchases, lifetime amount)
comes back as JSON columns of a single row.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.pricing.model import MemberContext, PurchaseAggregate

_QUERY = text("""
SELECT c.state, c.card_type, c.member_id, ct.accrual_bps, ct.requires_verification,
  (SELECT coalesce(sum(r.total_minor), 0) FROM receipts r
    WHERE r.member_id = c.member_id) AS lifetime_amount,
  (SELECT coalesce(json_agg(json_build_array(d.day, d.store_code, d.amount)), '[]')
     FROM (SELECT (r.confirmed_at AT TIME ZONE :tz)::date AS day, r.store_code,
                  sum(r.total_minor) AS amount
             FROM receipts r
            WHERE r.member_id = c.member_id AND r.confirmed_at >= :since
            GROUP BY 1, 2) d) AS purchases,
  (SELECT coalesce(json_object_agg(u.promotion_id, u.first_date), '{}')
     FROM member_promotion_uses u
    WHERE u.member_id = c.member_id AND u.promotion_id = ANY(:promotions)) AS first_uses
FROM cards c JOIN card_types ct ON ct.code = c.card_type
WHERE c.number = :card
""")


@dataclass(frozen=True, slots=True)
class CardPricingContext:
    """The presented card and what pricing needs to know about its member."""

    card_state: str
    card_type: str
    member_id: uuid.UUID | None
    accrual_bps: int
    requires_verification: bool
    member: MemberContext


async def load_card_context(
    session: AsyncSession, card_number: str, *, time_zone: str, history_days: int,
    promotions: frozenset[str], now: dt.datetime,
) -> CardPricingContext | None:
    """None when no such card exists."""
    row = (await session.execute(_QUERY, {
        "card": card_number, "tz": time_zone, "promotions": sorted(promotions),
        "since": now - dt.timedelta(days=history_days + 1),
    })).one_or_none()
    if row is None:
        return None
    purchases = json.loads(row.purchases) if isinstance(row.purchases, str) else row.purchases
    first_uses = json.loads(row.first_uses) if isinstance(row.first_uses, str) else row.first_uses
    member = MemberContext(
        member_id=str(row.member_id) if row.member_id else "",
        card_type=row.card_type,
        first_promo_purchase={k: dt.date.fromisoformat(v) for k, v in first_uses.items()},
        purchases=tuple(
            PurchaseAggregate(dt.date.fromisoformat(day), store, int(amount))
            for day, store, amount in purchases
        ),
        lifetime_amount=int(row.lifetime_amount),
        points_balance=None,
    )
    return CardPricingContext(row.state, row.card_type, row.member_id, row.accrual_bps,
                              row.requires_verification, member)
