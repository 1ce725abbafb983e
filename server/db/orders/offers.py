"""Alternatives offered for order lines, and the candidates' catalog and stock, in SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

from server.orders.alternatives import Candidate, Offer


async def candidates(conn: asyncpg.Connection, group: str, brand: str,
                     skus: Sequence[str] | None, limit: int = 500
                     ) -> dict[str, tuple[str, str, str, int]]:
    """sku -> (name, group, brand, most stock in one store) of products in stock: the given
    SKUs, or those of the group or brand."""
    rows = await conn.fetch(
        "SELECT p.sku, p.name, p.group_code, p.brand, max(s.quantity_milli) AS most "
        "FROM products p JOIN stock_balances s ON s.sku = p.sku AND s.quantity_milli > 0 "
        "WHERE CASE WHEN $1::text[] IS NULL "
        "THEN (p.group_code = $2 AND $2 <> '') OR (p.brand = $3 AND $3 <> '') "
        "ELSE p.sku = ANY($1) END "
        "GROUP BY p.sku, p.name, p.group_code, p.brand ORDER BY p.sku LIMIT $4",
        list(skus) if skus is not None else None, group, brand, limit)
    return {r["sku"]: (r["name"], r["group_code"], r["brand"], r["most"]) for r in rows}


def as_candidates(found: dict[str, tuple[str, str, str, int]],
                  prices: dict[str, int]) -> list[Candidate]:
    return [Candidate(sku, name, group, brand, prices[sku], most)
            for sku, (name, group, brand, most) in found.items() if sku in prices]


async def add(conn: asyncpg.Connection, offers: Sequence[Offer]) -> None:
    await conn.executemany(
        "INSERT INTO web_order_offers (id, order_id, line_no, sku, unit_price, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(o.id, o.order_id, o.line_no, o.sku, o.unit_price, o.expires_at) for o in offers])


async def get(conn: asyncpg.Connection, offer_id: uuid.UUID) -> Offer | None:
    r = await conn.fetchrow("SELECT * FROM web_order_offers WHERE id = $1", offer_id)
    if r is None:
        return None
    return Offer(r["id"], r["order_id"], r["line_no"], r["sku"], r["unit_price"],
                 r["expires_at"], r["used_at"])


async def use(conn: asyncpg.Connection, offer_id: uuid.UUID, now: dt.datetime) -> bool:
    """Mark the offer used, once: False when it was used already (another click won)."""
    done = await conn.fetchval(
        "UPDATE web_order_offers SET used_at = $2 WHERE id = $1 AND used_at IS NULL "
        "RETURNING id", offer_id, now)
    return done is not None


async def close_line(conn: asyncpg.Connection, order_id: uuid.UUID, line_no: int,
                     now: dt.datetime) -> None:
    """Once one alternative is taken, the line's other links stop working."""
    await conn.execute("UPDATE web_order_offers SET used_at = $3 WHERE order_id = $1 "
                       "AND line_no = $2 AND used_at IS NULL", order_id, line_no, now)
