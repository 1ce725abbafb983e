"""The member's pricing context in ONE query: card, card type, history, balance.

CalculateReceipt touches the database at most once, here. Everything rules need about the
member's past (daily purchase aggregates with the goods bought, first promotional
purchases, lifetime amount, receipts so far) and the spendable points come back as
columns of a single row. It runs on the plain asyncpg pool as a prepared statement, like
the ledger hot paths: through a SQLAlchemy session it cost ~0.8 ms of server CPU per call.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from server.db.ledger.pool import LedgerPool
from server.pricing.model import MemberContext, PurchaseAggregate

# Receipts that still count as purchases (cancelled and fully refunded ones do not).
_COUNTED = "r.member_id = c.member_id AND r.state NOT IN ('cancelled', 'refunded')"

# $1 card number, $2 time zone, $3 tracked promotion ids, $4 history start, $5 now (lots past
# their expiry time are not spendable, whether or not the expiry job has run)
_QUERY = f"""
SELECT c.state, c.card_type, c.member_id, ct.accrual_bps, ct.requires_verification,
  m.birth_date,
  (SELECT count(*) FROM receipts r WHERE {_COUNTED}) AS receipt_count,
  (SELECT coalesce(sum(r.total_minor), 0) FROM receipts r WHERE {_COUNTED}) AS lifetime_amount,
  kopilka_spendable_points(c.member_id, $5) AS points_balance,
  (SELECT coalesce(json_agg(json_build_array(d.day, d.store_code, d.amount)), '[]')
     FROM (SELECT (r.confirmed_at AT TIME ZONE $2::text)::date AS day, r.store_code,
                  sum(r.total_minor) AS amount
             FROM receipts r WHERE {_COUNTED} AND r.confirmed_at >= $4
            GROUP BY 1, 2) d) AS purchases,
  (SELECT coalesce(json_agg(json_build_array(i.day, i.store_code, i.sku, i.group_code)), '[]')
     FROM (SELECT DISTINCT (r.confirmed_at AT TIME ZONE $2::text)::date AS day, r.store_code,
                  l.value ->> 'sku' AS sku, p.group_code
             FROM receipts r
             JOIN receipt_details rd ON rd.receipt_id = r.id
             CROSS JOIN LATERAL jsonb_array_elements(rd.lines) AS l(value)
             LEFT JOIN products p ON p.sku = l.value ->> 'sku'
            WHERE {_COUNTED} AND r.confirmed_at >= $4) i) AS items,
  (SELECT coalesce(json_object_agg(u.promotion_id, u.first_date), '{{}}')
     FROM member_promotion_uses u
    WHERE u.member_id = c.member_id AND u.promotion_id = ANY($3::text[])) AS first_uses
FROM cards c
JOIN card_types ct ON ct.code = c.card_type
LEFT JOIN members m ON m.id = c.member_id
WHERE c.number = $1
"""


@dataclass(frozen=True, slots=True)
class CardPricingContext:
    """The presented card and what pricing and accrual need to know about its member."""

    card_state: str
    card_type: str
    member_id: uuid.UUID | None
    accrual_bps: int
    requires_verification: bool
    birth_date: dt.date | None
    receipt_count: int
    member: MemberContext


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _aggregates(purchases: list[list[Any]], items: list[list[Any]]
                ) -> tuple[PurchaseAggregate, ...]:
    skus: dict[tuple[str, str], set[str]] = {}
    groups: dict[tuple[str, str], set[str]] = {}
    for day, store, sku, group in items:
        if sku:
            skus.setdefault((day, store), set()).add(sku)
        if group:
            groups.setdefault((day, store), set()).add(group)
    return tuple(
        PurchaseAggregate(dt.date.fromisoformat(day), store, int(amount),
                          frozenset(skus.get((day, store), ())),
                          frozenset(groups.get((day, store), ())))
        for day, store, amount in sorted(purchases)
    )


async def load_card_context(
    pool: LedgerPool, card_number: str, *, time_zone: str, history_days: int,
    promotions: frozenset[str], now: dt.datetime,
) -> CardPricingContext | None:
    """None when no such card exists. History goes back `history_days` local days."""
    since = now - dt.timedelta(days=history_days + 1) if history_days else now
    row = await (await pool.get()).fetchrow(
        _QUERY, card_number, time_zone, sorted(promotions), since, now)
    return None if row is None else card_context(row)


def card_context(row: Any) -> CardPricingContext:  # an asyncpg Record or a dict
    """The context from the query's row (apart so benchmarks/bench_calculate_stages.py can
    time it without a database)."""
    first_uses = _json(row["first_uses"])
    member = MemberContext(
        member_id=str(row["member_id"]) if row["member_id"] else "",
        card_type=row["card_type"],
        first_promo_purchase={k: dt.date.fromisoformat(v) for k, v in first_uses.items()},
        purchases=_aggregates(_json(row["purchases"]), _json(row["items"])),
        lifetime_amount=int(row["lifetime_amount"]),
        points_balance=int(row["points_balance"] or 0),
    )
    return CardPricingContext(row["state"], row["card_type"], row["member_id"],
                              row["accrual_bps"], row["requires_verification"],
                              row["birth_date"], int(row["receipt_count"]), member)
