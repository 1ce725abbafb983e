"""`server.shopping.service.ShoppingRepository` over PostgreSQL, in the caller's transaction.

Hot and bulk paths use single statements: site events go in with COPY, stock changes and
wishlist hits with array parameters (unnest), abandoned baskets are claimed with
FOR UPDATE SKIP LOCKED so two job runners never take the same basket.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.audit.repo import Change, record
from server.db.ledger.repo import raw_connection
from server.db.outbox.repo import enqueue_event
from server.events.schema import new_event
from server.shopping.model import (
    Basket,
    BasketState,
    Pair,
    SiteEvent,
    SiteEventKind,
    StockChange,
    WishlistItem,
    lines_from_json,
    lines_json,
)
from server.shopping.service import Restock

# pg_advisory_xact_lock key of the pair computation: "kpairs" in ASCII
PAIRS_LOCK = 0x6B7061697273

_BASKET_COLUMNS = """id, store_code, basket_id, member_id, currency, version, state, lines,
    total_minor, reported_at, ordered_at, abandoned_at, order_reference"""


def _basket(row: Any) -> Basket:
    lines = row.lines if isinstance(row.lines, list) else json.loads(row.lines)
    return Basket(row.id, row.store_code, row.basket_id, row.member_id, row.currency,
                  row.version, BasketState(row.state), lines_from_json(lines), row.total_minor,
                  row.reported_at, row.ordered_at, row.abandoned_at, row.order_reference)


def _event(row: Any) -> SiteEvent:
    return SiteEvent(row.member_id, row.store_code, SiteEventKind(row.kind), row.occurred_at,
                     row.sku, row.search_query, row.basket_id, row.quantity_milli, row.id)


_RECOMPUTE_PAIRS = text("""
WITH lines AS (
  SELECT DISTINCT r.id AS receipt, l->>'sku' AS sku
    FROM receipts r
    JOIN receipt_details d ON d.receipt_id = r.id
    CROSS JOIN LATERAL jsonb_array_elements(d.lines) AS x(l)
   WHERE r.state IN ('confirmed', 'partially_refunded') AND r.confirmed_at >= :since
     AND jsonb_typeof(l) = 'object' AND coalesce(l->>'sku', '') <> ''
),
receipt_count AS (SELECT count(DISTINCT receipt) AS n FROM lines),
singles AS (SELECT sku, count(*) AS n FROM lines GROUP BY sku),
pairs AS (
  SELECT a.sku, b.sku AS other_sku, count(*) AS pair_count
    FROM lines a JOIN lines b ON a.receipt = b.receipt AND a.sku <> b.sku
   GROUP BY a.sku, b.sku HAVING count(*) >= :min_pairs
),
ranked AS (
  SELECT p.sku, p.other_sku, p.pair_count, s.n AS sku_receipts,
         (p.pair_count * 1000 / s.n)::int AS confidence_permille,
         (p.pair_count * 1000 / (SELECT n FROM receipt_count))::int AS support_permille,
         row_number() OVER (PARTITION BY p.sku ORDER BY p.pair_count DESC, p.other_sku) AS rank
    FROM pairs p JOIN singles s ON s.sku = p.sku
),
stored AS (
  INSERT INTO shopping_pairs (sku, other_sku, pair_count, sku_receipts, confidence_permille,
                              support_permille)
  SELECT sku, other_sku, pair_count, sku_receipts, confidence_permille, support_permille
    FROM ranked WHERE rank <= :per_sku
  RETURNING 1
)
SELECT (SELECT n FROM receipt_count) AS receipts, (SELECT count(*) FROM stored) AS pairs
""")


class SqlShoppingRepository:
    """Shopping storage in one AsyncSession's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, **params: Any) -> Sequence[Any]:
        return (await self.session.execute(text(sql), params)).all()

    # --- reference data -------------------------------------------------------------------

    async def known_skus(self, skus: Collection[str]) -> frozenset[str]:
        if not skus:
            return frozenset()
        rows = await self._rows("SELECT sku FROM products WHERE sku = ANY(:skus)",
                                skus=list(set(skus)))
        return frozenset(r.sku for r in rows)

    async def known_stores(self, codes: Collection[str]) -> frozenset[str]:
        rows = await self._rows("SELECT code FROM stores WHERE code = ANY(:codes)",
                                codes=list(set(codes)))
        return frozenset(r.code for r in rows)

    async def known_members(self, ids: Collection[uuid.UUID]) -> frozenset[uuid.UUID]:
        rows = await self._rows("SELECT id FROM members WHERE id = ANY(:ids)", ids=list(set(ids)))
        return frozenset(r.id for r in rows)

    # --- baskets --------------------------------------------------------------------------

    async def basket(self, store_code: str, basket_id: str, *, lock: bool = False
                     ) -> Basket | None:
        rows = await self._rows(
            f"SELECT {_BASKET_COLUMNS} FROM shopping_baskets "
            "WHERE store_code = :store AND basket_id = :basket"
            + (" FOR UPDATE" if lock else ""), store=store_code, basket=basket_id)
        return _basket(rows[0]) if rows else None

    async def insert_basket(self, basket: Basket) -> bool:
        """False when a concurrent report created the basket first (nothing written)."""
        rows = await self._rows(
            f"INSERT INTO shopping_baskets ({_BASKET_COLUMNS}) VALUES (:id, :store, :basket, "
            ":member, :currency, :version, :state, CAST(:lines AS jsonb), :total, :reported, "
            ":ordered, :abandoned, :reference) "
            "ON CONFLICT (store_code, basket_id) DO NOTHING RETURNING id", **self._params(basket))
        return bool(rows)

    async def update_basket(self, basket: Basket) -> None:
        await self.session.execute(text(
            "UPDATE shopping_baskets SET member_id = :member, currency = :currency, "
            "version = :version, state = :state, lines = CAST(:lines AS jsonb), "
            "total_minor = :total, reported_at = :reported, ordered_at = :ordered, "
            "abandoned_at = :abandoned, order_reference = :reference WHERE id = :id"),
            self._params(basket))

    @staticmethod
    def _params(b: Basket) -> dict[str, Any]:
        return {"id": b.id, "store": b.store_code, "basket": b.basket_id, "member": b.member_id,
                "currency": b.currency, "version": b.version, "state": b.state.value,
                "lines": json.dumps(lines_json(b.lines)), "total": b.total_minor,
                "reported": b.reported_at, "ordered": b.ordered_at, "abandoned": b.abandoned_at,
                "reference": b.order_reference}

    async def claim_abandoned(self, cutoff: dt.datetime, now: dt.datetime, limit: int
                              ) -> list[Basket]:
        """Open baskets last reported before `cutoff` and never reported abandoned, marked
        abandoned at `now`; rows another runner holds are skipped, so each is taken once."""
        rows = await self._rows(f"""
            WITH due AS (
              SELECT id FROM shopping_baskets
               WHERE state = 'open' AND abandoned_at IS NULL AND reported_at < :cutoff
               ORDER BY reported_at, id LIMIT :limit
               FOR UPDATE SKIP LOCKED)
            UPDATE shopping_baskets b SET abandoned_at = :now
              FROM due WHERE b.id = due.id AND b.abandoned_at IS NULL
            RETURNING {", ".join("b." + c.strip() for c in _BASKET_COLUMNS.split(","))}""",
            cutoff=cutoff, now=now, limit=limit)
        return [_basket(r) for r in rows]

    # --- wishlists ------------------------------------------------------------------------

    async def add_wish(self, item: WishlistItem) -> tuple[WishlistItem, bool]:
        """(the stored item, whether it is new): `item`, or the one already there."""
        rows = await self._rows(
            "INSERT INTO shopping_wishlist_items (member_id, sku, id, added_at) "
            "VALUES (:member, :sku, :id, :at) ON CONFLICT (member_id, sku) DO NOTHING "
            "RETURNING id", member=item.member_id, sku=item.sku, id=item.id, at=item.added_at)
        if rows:
            return item, True
        (row,) = await self._rows(
            "SELECT id, member_id, sku, added_at FROM shopping_wishlist_items "
            "WHERE member_id = :member AND sku = :sku", member=item.member_id, sku=item.sku)
        return WishlistItem(row.id, row.member_id, row.sku, row.added_at), False

    async def remove_wish(self, member_id: uuid.UUID, sku: str) -> bool:
        rows = await self._rows(
            "DELETE FROM shopping_wishlist_items WHERE member_id = :member AND sku = :sku "
            "RETURNING id", member=member_id, sku=sku)
        return bool(rows)

    async def wishes(self, member_id: uuid.UUID, before: tuple[dt.datetime, uuid.UUID] | None,
                     limit: int) -> list[WishlistItem]:
        rows = await self._rows(
            "SELECT id, member_id, sku, added_at FROM shopping_wishlist_items "
            "WHERE member_id = :member "
            + ("AND (added_at, id) < (:t, :i) " if before else "")
            + "ORDER BY added_at DESC, id DESC LIMIT :limit",
            member=member_id, limit=limit,
            **({"t": before[0], "i": before[1]} if before else {}))
        return [WishlistItem(r.id, r.member_id, r.sku, r.added_at) for r in rows]

    async def wished_skus(self) -> list[str]:
        return [r.sku for r in await self._rows(
            "SELECT DISTINCT sku FROM shopping_wishlist_items ORDER BY sku")]

    async def claim_hits(self, sku: str, occurrence: str, kind: str
                         ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Record the hit for every member wishing `sku` who has not had this occurrence;
        (member, event id) of the new ones. The primary key makes it once per member, item
        and occurrence whatever runs at the same time."""
        rows = await self._rows(
            "INSERT INTO shopping_wishlist_hits (member_id, sku, occurrence, kind, event_id) "
            "SELECT member_id, sku, :occurrence, :kind, gen_random_uuid() "
            "FROM shopping_wishlist_items WHERE sku = :sku ORDER BY member_id "
            "ON CONFLICT DO NOTHING RETURNING member_id, event_id",
            sku=sku, occurrence=occurrence, kind=kind)
        return [(r.member_id, r.event_id) for r in rows]

    # --- stock ----------------------------------------------------------------------------

    async def apply_stock(self, changes: Sequence[StockChange]) -> list[Restock]:
        """Store the levels; the SKUs whose summed availability turned positive again.

        A SKU seen for the first time sets its baseline: no restock. Each SKU's row is
        locked (in SKU order) before its levels change, so concurrent reports of one SKU
        count one restock."""
        last: dict[tuple[str, str], int] = {}
        for c in changes:
            last[(c.sku, c.store_code)] = c.available_milli
        keys = sorted(last)
        skus = sorted({sku for sku, _ in keys})
        fresh = {r.sku for r in await self._rows(
            "INSERT INTO shopping_stock_skus (sku, available_milli, restocks) "
            "SELECT s, 0, 0 FROM unnest(CAST(:skus AS varchar[])) AS s ORDER BY s "
            "ON CONFLICT DO NOTHING RETURNING sku", skus=skus)}
        old = {r.sku: (r.available_milli, r.restocks) for r in await self._rows(
            "SELECT sku, available_milli, restocks FROM shopping_stock_skus "
            "WHERE sku = ANY(:skus) ORDER BY sku FOR UPDATE", skus=skus)}
        await self.session.execute(text(
            "INSERT INTO shopping_stock_levels (store_code, sku, available_milli) "
            "SELECT * FROM unnest(CAST(:stores AS varchar[]), CAST(:skus AS varchar[]), "
            "CAST(:qty AS bigint[])) "
            "ON CONFLICT (store_code, sku) DO UPDATE "
            "SET available_milli = EXCLUDED.available_milli, updated_at = now()"),
            {"stores": [s for _, s in keys], "skus": [k for k, _ in keys],
             "qty": [last[k] for k in keys]})
        totals = {r.sku: (int(r.total), list(r.stores or ())) for r in await self._rows(
            "SELECT sku, sum(greatest(available_milli, 0)) AS total, "
            "array_agg(store_code ORDER BY store_code) FILTER (WHERE available_milli > 0) "
            "AS stores FROM shopping_stock_levels WHERE sku = ANY(:skus) GROUP BY sku",
            skus=skus)}
        restocks: list[Restock] = []
        new_counts: list[int] = []
        for sku in skus:
            before, count = old[sku]
            total, stores = totals[sku]
            if sku not in fresh and before <= 0 < total:
                count += 1
                restocks.append(Restock(sku, total, count, tuple(stores)))
            new_counts.append(count)
        await self.session.execute(text(
            "UPDATE shopping_stock_skus s SET available_milli = v.total, restocks = v.count, "
            "updated_at = now() FROM unnest(CAST(:skus AS varchar[]), CAST(:totals AS bigint[]), "
            "CAST(:counts AS int[])) AS v(sku, total, count) WHERE s.sku = v.sku"),
            {"skus": skus, "totals": [totals[s][0] for s in skus], "counts": new_counts})
        return restocks

    # --- site events ----------------------------------------------------------------------

    async def add_site_events(self, events: Sequence[SiteEvent]) -> int:
        """COPY the events into the table in this transaction."""
        if not events:
            return 0
        conn = await raw_connection(self.session)
        await conn.copy_records_to_table(
            "shopping_site_events",
            columns=["member_id", "store_code", "kind", "sku", "search_query", "basket_id",
                     "quantity_milli", "occurred_at"],
            records=[(e.member_id, e.store_code, e.kind.value, e.sku, e.search_query,
                      e.basket_id, e.quantity_milli, e.occurred_at) for e in events])
        return len(events)

    async def site_events(self, member_id: uuid.UUID,
                          before: tuple[dt.datetime, uuid.UUID] | None, limit: int,
                          stores: frozenset[str] | None, since: dt.datetime) -> list[SiteEvent]:
        """A member's events newest first (keyset), within the retention, in `stores`."""
        params: dict[str, Any] = {"member": member_id, "limit": limit, "since": since}
        where = ["member_id = :member", "occurred_at >= :since"]
        if before is not None:
            where.append("(occurred_at, id) < (:t, :i)")
            params.update(t=before[0], i=before[1])
        if stores is not None:
            where.append("store_code = ANY(:stores)")
            params["stores"] = sorted(stores)
        rows = await self._rows(
            "SELECT id, member_id, store_code, kind, sku, search_query, basket_id, "
            "quantity_milli, occurred_at FROM shopping_site_events WHERE "
            + " AND ".join(where) + " ORDER BY occurred_at DESC, id DESC LIMIT :limit",
            **params)
        return [_event(r) for r in rows]

    async def prune_site_events(self, cutoff: dt.datetime, limit: int) -> int:
        rows = await self._rows(
            "DELETE FROM shopping_site_events WHERE id IN (SELECT id FROM shopping_site_events "
            "WHERE occurred_at < :cutoff LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING 1",
            cutoff=cutoff, limit=limit)
        return len(rows)

    # --- product pairs --------------------------------------------------------------------

    async def last_pair_run(self) -> dt.datetime | None:
        value = await self.session.scalar(text("SELECT max(computed_at) FROM shopping_pair_runs"))
        return value if isinstance(value, dt.datetime) else None

    async def recompute_pairs(self, since: dt.datetime, now: dt.datetime, min_pairs: int,
                              per_sku: int) -> tuple[int, int]:
        """Replace the pairs with counts from confirmed receipts since `since`."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PAIRS_LOCK})
        await self.session.execute(text("DELETE FROM shopping_pairs"))
        row = (await self.session.execute(_RECOMPUTE_PAIRS, {
            "since": since, "min_pairs": min_pairs, "per_sku": per_sku})).one()
        receipts, pairs = int(row.receipts or 0), int(row.pairs or 0)
        await self.session.execute(text(
            "INSERT INTO shopping_pair_runs (computed_at, since, receipts, pairs) "
            "VALUES (:now, :since, :receipts, :pairs)"),
            {"now": now, "since": since, "receipts": receipts, "pairs": pairs})
        return receipts, pairs

    async def pairs_for(self, skus: Collection[str], limit: int) -> list[Pair]:
        """The best pairs of the basket's SKUs with products not in it, best first."""
        rows = await self._rows(
            "SELECT sku, other_sku, pair_count, confidence_permille, support_permille "
            "FROM shopping_pairs WHERE sku = ANY(:skus) AND NOT other_sku = ANY(:skus) "
            "ORDER BY confidence_permille DESC, pair_count DESC, other_sku, sku LIMIT :limit",
            skus=sorted(set(skus)), limit=limit)
        return [Pair(r.other_sku, r.sku, r.pair_count, r.confidence_permille,
                     r.support_permille) for r in rows]

    # --- events and audit -----------------------------------------------------------------

    async def publish(self, event_type: str, payload: Mapping[str, Any],
                      event_id: uuid.UUID | None = None) -> uuid.UUID:
        event = new_event(event_type, **payload)  # checked against docs/events.md's schema
        return await enqueue_event(self.session, event.type, event.payload, event.version,
                                   event_id=event_id)

    async def audit(self, object_type: str, object_id: str, action: str, before: Any,
                    after: Any) -> None:
        await record(self.session, Change(object_type, object_id, action, before, after))
