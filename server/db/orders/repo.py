"""Orders in SQL: load (locked), insert, save, history, lists; addresses; stock.

Statements go to the session's asyncpg connection (inside its transaction). The order row is
locked FOR UPDATE while an action runs, so two actions on one order run one after the other
and the second sees the first's version.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.ledger.repo import raw_connection
from server.db.orders import models as _models  # noqa: F401  (registers the tables)
from server.orders.model import (
    Address,
    DeliveryKind,
    HistoryEntry,
    Line,
    LineState,
    Order,
    OrderState,
)

ORDER_COLUMNS = (
    "o.id, o.external_number, o.store_code, o.member_id, o.card_number, o.state, o.version, "
    "o.language, o.delivery_kind, o.pickup_store_code, o.address_id, o.comment, o.currency, "
    "o.points_requested, o.points_reserved, o.points_spent, o.points_accrued, "
    "o.points_returned, o.points_reversed, o.reserve_tx_id, o.accrual_tx_id, "
    "o.accrual_lots::text AS accrual_lots, o.lot_returns::text AS lot_returns, o.created_by, "
    "o.created_at, o.updated_at, a.city, a.street, a.postal_code, a.nova_poshta_branch, "
    "a.recipient_name, a.recipient_phone")
LINE_COLUMNS = ("line_no, sku, quantity_milli, unit_price, base_amount, discount_amount, "
                "points_paid, final_amount, accrual_points, promotions, state, returned_milli, "
                "points_returned, points_reversed, store_code, split_from, replaces")


def _order(row: asyncpg.Record, lines: Sequence[asyncpg.Record]) -> Order:
    address = None
    if row["address_id"] is not None:
        address = Address(row["city"], row["street"], row["postal_code"],
                          row["nova_poshta_branch"], row["recipient_name"],
                          row["recipient_phone"], row["address_id"])
    return Order(
        id=row["id"], external_number=row["external_number"], store_code=row["store_code"],
        member_id=row["member_id"], card_number=row["card_number"],
        state=OrderState(row["state"]), version=row["version"], language=row["language"],
        delivery_kind=DeliveryKind(row["delivery_kind"]),
        pickup_store_code=row["pickup_store_code"], address=address, comment=row["comment"],
        currency=row["currency"], points_requested=row["points_requested"],
        points_reserved=row["points_reserved"], points_spent=row["points_spent"],
        points_accrued=row["points_accrued"], points_returned=row["points_returned"],
        points_reversed=row["points_reversed"], reserve_tx_id=row["reserve_tx_id"],
        accrual_tx_id=row["accrual_tx_id"], accrual_lots=json.loads(row["accrual_lots"]),
        lot_returns=json.loads(row["lot_returns"]),
        lines=[_line(x) for x in lines], created_by=row["created_by"],
        created_at=row["created_at"], updated_at=row["updated_at"])


def _line(r: asyncpg.Record) -> Line:
    return Line(r["line_no"], r["sku"], r["quantity_milli"], r["unit_price"],
                LineState(r["state"]), r["base_amount"], r["discount_amount"], r["points_paid"],
                r["final_amount"], r["accrual_points"], tuple(r["promotions"]),
                r["returned_milli"], r["points_returned"], r["points_reversed"],
                r["store_code"], r["split_from"], r["replaces"])


def _line_row(order_id: uuid.UUID, x: Line) -> tuple[Any, ...]:
    return (order_id, x.line_no, x.sku, x.quantity_milli, x.unit_price, x.base_amount,
            x.discount_amount, x.points_paid, x.final_amount, x.accrual_points,
            list(x.promotions), x.state.value, x.returned_milli, x.points_returned,
            x.points_reversed, x.store_code, x.split_from, x.replaces)


UPSERT_LINE = f"""
INSERT INTO web_order_lines (order_id, {LINE_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (order_id, line_no) DO UPDATE SET
  sku = EXCLUDED.sku, quantity_milli = EXCLUDED.quantity_milli,
  unit_price = EXCLUDED.unit_price, base_amount = EXCLUDED.base_amount,
  discount_amount = EXCLUDED.discount_amount, points_paid = EXCLUDED.points_paid,
  final_amount = EXCLUDED.final_amount, accrual_points = EXCLUDED.accrual_points,
  promotions = EXCLUDED.promotions, state = EXCLUDED.state,
  returned_milli = EXCLUDED.returned_milli, points_returned = EXCLUDED.points_returned,
  points_reversed = EXCLUDED.points_reversed, store_code = EXCLUDED.store_code,
  split_from = EXCLUDED.split_from, replaces = EXCLUDED.replaces"""


async def products(conn: asyncpg.Connection | PoolConnectionProxy,
                   skus: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """(name, group, brand) of the products named, by SKU."""
    rows = await conn.fetch(
        "SELECT sku, name, group_code, brand FROM products WHERE sku = ANY($1)", list(skus))
    return {r["sku"]: (r["name"], r["group_code"], r["brand"]) for r in rows}


class ProductNames:
    """`products` remembered for one catalog (the pricing snapshot's, which PlaceOrder's
    lines were checked and priced against): a new catalog object starts it over, so a
    placement names its lines as its pricing saw them; SKUs not remembered are read."""

    def __init__(self) -> None:
        self._catalog: object = None
        self._rows: dict[str, tuple[str, str, str]] = {}

    async def of(self, conn: asyncpg.Connection | PoolConnectionProxy, skus: Sequence[str],
                 catalog: object) -> dict[str, tuple[str, str, str]]:
        if catalog is not self._catalog:
            self._catalog, self._rows = catalog, {}
        rows = self._rows
        missing = [x for x in skus if x not in rows]
        if missing:
            rows.update(await products(conn, missing))
        return {x: rows[x] for x in skus if x in rows}


class SqlOrderRepository:
    """OrderRepository (server/orders/service.py) on one transaction's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @classmethod
    async def of(cls, session: AsyncSession) -> SqlOrderRepository:
        return cls(await raw_connection(session))

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        row = await self.conn.fetchrow(
            f"SELECT {ORDER_COLUMNS} FROM web_orders o "
            "LEFT JOIN member_addresses a ON a.id = o.address_id WHERE o.id = $1"
            + (" FOR UPDATE OF o" if for_update else ""), order_id)
        if row is None:
            return None
        lines = await self.conn.fetch(
            f"SELECT {LINE_COLUMNS} FROM web_order_lines WHERE order_id = $1 ORDER BY line_no",
            order_id)
        return _order(row, lines)

    async def lock(self, order_id: uuid.UUID) -> Order | None:
        return await self.get(order_id, for_update=True)

    async def add(self, order: Order) -> None:
        if order.address is not None and order.address.id is None:
            order.address.id = await self.add_address(order.member_id, order.address)
        await self.conn.execute(
            "INSERT INTO web_orders (id, external_number, store_code, member_id, card_number, "
            "state, version, language, delivery_kind, pickup_store_code, address_id, comment, "
            "currency, points_requested, points_reserved, points_spent, points_accrued, "
            "points_returned, points_reversed, reserve_tx_id, accrual_tx_id, accrual_lots, "
            "lot_returns, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, "
            "$7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0, 0, 0, $16, NULL, $17::jsonb, "
            "$18::jsonb, $19, coalesce($20, now()), coalesce($20, now()))",
            order.id, order.external_number, order.store_code, order.member_id,
            order.card_number, order.state.value, order.version, order.language,
            order.delivery_kind.value, order.pickup_store_code,
            order.address.id if order.address else None, order.comment, order.currency,
            order.points_requested, order.points_reserved, order.reserve_tx_id,
            json.dumps(order.accrual_lots), json.dumps(order.lot_returns), order.created_by,
            order.created_at)
        await self.conn.executemany(UPSERT_LINE, [_line_row(order.id, x) for x in order.lines])

    async def save(self, order: Order) -> None:
        await self.conn.execute(
            "UPDATE web_orders SET state = $2, version = $3, points_reserved = $4, "
            "points_spent = $5, points_accrued = $6, points_returned = $7, "
            "points_reversed = $8, reserve_tx_id = $9, accrual_tx_id = $10, "
            "accrual_lots = $11::jsonb, lot_returns = $12::jsonb, updated_at = now() "
            "WHERE id = $1",
            order.id, order.state.value, order.version, order.points_reserved,
            order.points_spent, order.points_accrued, order.points_returned,
            order.points_reversed, order.reserve_tx_id, order.accrual_tx_id,
            json.dumps(order.accrual_lots), json.dumps(order.lot_returns))
        await self.conn.executemany(UPSERT_LINE, [_line_row(order.id, x) for x in order.lines])

    async def add_history(self, order_id: uuid.UUID, entry: HistoryEntry) -> None:
        await self.conn.execute(
            "INSERT INTO web_order_history (order_id, version, principal, action, line_no, "
            "reason, state, detail, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, coalesce($9, now()))",
            order_id, entry.version, entry.principal, entry.action, entry.line_no, entry.reason,
            entry.state.value, json.dumps(entry.detail, default=str), entry.created_at)

    async def history(self, order_id: uuid.UUID) -> list[HistoryEntry]:
        rows = await self.conn.fetch(
            "SELECT version, principal, action, line_no, reason, state, detail::text AS d, "
            "created_at FROM web_order_history WHERE order_id = $1 ORDER BY version", order_id)
        return [HistoryEntry(r["version"], r["principal"], r["action"], r["line_no"],
                             r["reason"], OrderState(r["state"]), json.loads(r["d"]),
                             r["created_at"]) for r in rows]

    async def page(self, member_id: uuid.UUID | None, state: OrderState | None,
                   stores: frozenset[str] | None,
                   before: tuple[dt.datetime, uuid.UUID] | None, limit: int, *,
                   since: dt.datetime | None = None,
                   until: dt.datetime | None = None) -> list[Order]:
        """Newest first, keyset paged; only orders of `stores` when given, placed in
        [since, until) when given (indexes: member, store, state, each with created_at)."""
        rows = await self.conn.fetch(
            f"SELECT {ORDER_COLUMNS} FROM web_orders o "
            "LEFT JOIN member_addresses a ON a.id = o.address_id "
            "WHERE ($1::uuid IS NULL OR o.member_id = $1) AND ($2::text IS NULL OR o.state = $2) "
            "AND ($3::text[] IS NULL OR o.store_code = ANY($3)) "
            "AND ($4::timestamptz IS NULL OR (o.created_at, o.id) < ($4, $5)) "
            "AND ($7::timestamptz IS NULL OR o.created_at >= $7) "
            "AND ($8::timestamptz IS NULL OR o.created_at < $8) "
            "ORDER BY o.created_at DESC, o.id DESC LIMIT $6",
            member_id, state.value if state else None,
            sorted(stores) if stores is not None else None,
            before[0] if before else None, before[1] if before else None, limit,
            since, until)
        if not rows:
            return []
        lines = await self.conn.fetch(
            f"SELECT order_id, {LINE_COLUMNS} FROM web_order_lines WHERE order_id = ANY($1) "
            "ORDER BY order_id, line_no", [r["id"] for r in rows])
        by_order: dict[uuid.UUID, list[asyncpg.Record]] = {}
        for x in lines:
            by_order.setdefault(x["order_id"], []).append(x)
        return [_order(r, by_order.get(r["id"], [])) for r in rows]

    async def add_address(self, member_id: uuid.UUID, a: Address) -> uuid.UUID:
        address_id = uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO member_addresses (id, member_id, city, street, postal_code, "
            "nova_poshta_branch, recipient_name, recipient_phone) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", address_id, member_id, a.city, a.street,
            a.postal_code, a.nova_poshta_branch, a.recipient_name, a.recipient_phone)
        return address_id

    async def address(self, member_id: uuid.UUID, address_id: uuid.UUID) -> Address | None:
        """The member's own address (another member's reads as missing)."""
        r = await self.conn.fetchrow(
            "SELECT * FROM member_addresses WHERE id = $1 AND member_id = $2",
            address_id, member_id)
        if r is None:
            return None
        return Address(r["city"], r["street"], r["postal_code"], r["nova_poshta_branch"],
                       r["recipient_name"], r["recipient_phone"], r["id"])

    async def products(self, skus: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """(name, group, brand) of the products named, by SKU."""
        return await products(self.conn, skus)

    async def stores_exist(self, codes: Sequence[str]) -> set[str]:
        rows = await self.conn.fetch("SELECT code FROM stores WHERE code = ANY($1)",
                                     list(codes))
        return {r["code"] for r in rows}
