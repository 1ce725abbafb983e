"""SQL of the 1C exchange's state (`ExchangeState`) and of the orders it exports.

Every method is its own short transaction: the exchange's requests come one at a time from
1C, and whichever worker answers the next one reads what the last one wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence

from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.plugin_contracts import OrderExport

EXPORT_BATCH = 500  # orders per query; the rest follow after 1C's success


class SqlExchangeState:
    """`server.plugin_contracts.ExchangeState` in PostgreSQL (tables of migration 0025)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _run(self, sql: str, *args: object) -> None:
        async with self._db.transaction() as session:
            await (await raw_connection(session)).execute(sql, *args)

    async def open_session(self, token: str, keep: int) -> None:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            await conn.execute("INSERT INTO onec_sessions (token, queried) VALUES ($1, '[]')",
                               token)
            # 1C never logs out: only the newest sessions stay (their uploads go with them)
            await conn.execute(
                "DELETE FROM onec_sessions WHERE token NOT IN (SELECT token FROM "
                "onec_sessions ORDER BY created_at DESC, token LIMIT $1)", keep)

    async def has_session(self, token: str) -> bool:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            return bool(await conn.fetchval(
                "SELECT 1 FROM onec_sessions WHERE token = $1", token))

    async def reset_files(self, token: str) -> None:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            await conn.execute("DELETE FROM onec_file_chunks WHERE token = $1", token)
            await conn.execute("DELETE FROM onec_imports WHERE token = $1", token)

    async def append_file(self, token: str, filename: str, chunk: bytes) -> None:
        await self._run(
            "INSERT INTO onec_file_chunks (token, filename, seq, data) SELECT $1::text, "
            "$2::text, coalesce(max(seq), 0) + 1, $3 FROM onec_file_chunks WHERE "
            "token = $1::text AND filename = $2::text", token, filename, chunk)

    async def read_file(self, token: str, filename: str) -> bytes | None:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            rows = await conn.fetch(
                "SELECT data FROM onec_file_chunks WHERE token = $1 AND filename = $2 "
                "ORDER BY seq", token, filename)
        return b"".join(r["data"] for r in rows) if rows else None

    async def begin_import(self, token: str, filename: str, stale_seconds: float
                           ) -> tuple[str, str]:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            claimed = await conn.fetchval(
                "INSERT INTO onec_imports (token, filename, state, message, beat_at) "
                "VALUES ($1::text, $2::text, 'running', '', clock_timestamp()) "
                "ON CONFLICT (token, filename) DO UPDATE SET state = 'running', "
                "message = '', beat_at = clock_timestamp() WHERE onec_imports.state = "
                "'running' AND onec_imports.beat_at < clock_timestamp() - $3::interval "
                "RETURNING 1", token, filename, dt.timedelta(seconds=stale_seconds))
            if claimed:
                return "start", ""
            row = await conn.fetchrow(
                "SELECT state, message FROM onec_imports WHERE token = $1 AND filename = $2",
                token, filename)
        return (row["state"], row["message"]) if row else ("", "")

    async def beat_import(self, token: str, filename: str) -> None:
        await self._run("UPDATE onec_imports SET beat_at = clock_timestamp() WHERE token = $1 "
                        "AND filename = $2 AND state = 'running'", token, filename)

    async def import_state(self, token: str, filename: str) -> tuple[str, str]:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            row = await conn.fetchrow(
                "SELECT state, message FROM onec_imports WHERE token = $1 AND filename = $2",
                token, filename)
        return (row["state"], row["message"]) if row else ("", "")

    async def end_import(self, token: str, filename: str, state: str, message: str) -> None:
        if not state:
            await self._run("DELETE FROM onec_imports WHERE token = $1 AND filename = $2",
                            token, filename)
            return
        await self._run("UPDATE onec_imports SET state = $3, message = $4, beat_at = "
                        "clock_timestamp() WHERE token = $1 AND filename = $2",
                        token, filename, state, message)

    async def remember_query(self, token: str, orders: list[tuple[str, int]]) -> None:
        await self._run("UPDATE onec_sessions SET queried = $2::jsonb WHERE token = $1",
                        token, json.dumps([[o, v] for o, v in orders]))

    async def take_query(self, token: str) -> list[tuple[str, int]]:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            raw = await conn.fetchval(
                "UPDATE onec_sessions s SET queried = '[]' FROM (SELECT token, queried FROM "
                "onec_sessions WHERE token = $1 FOR UPDATE) old WHERE s.token = old.token "
                "RETURNING old.queried::text", token)
        return [(str(o), int(v)) for o, v in json.loads(raw or "[]")]

    async def known_products(self) -> dict[str, tuple[str, str]]:
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            rows = await conn.fetch("SELECT onec_id, sku, name FROM onec_products")
        return {r["onec_id"]: (r["sku"], r["name"]) for r in rows}

    async def remember_products(self, products: list[tuple[str, str, str]]) -> None:
        if not products:
            return
        async with self._db.transaction() as session:
            conn = await raw_connection(session)
            await conn.executemany(
                "INSERT INTO onec_products (onec_id, sku, name) VALUES ($1, $2, $3) "
                "ON CONFLICT (onec_id) DO UPDATE SET sku = EXCLUDED.sku, "
                "name = EXCLUDED.name", products)


async def orders_to_export(db: Database, limit: int = EXPORT_BATCH) -> list[OrderExport]:
    """Orders 1C has not stored in their current version (new, or changed since the
    success that covered them), oldest change first; live lines only."""
    async with db.transaction() as session:
        conn = await raw_connection(session)
        orders = await conn.fetch(
            "SELECT o.id, o.created_at, o.currency, o.state, o.version FROM web_orders o "
            "LEFT JOIN onec_order_exports e ON e.order_id = o.id "
            "WHERE e.order_id IS NULL OR e.version < o.version "
            "ORDER BY o.updated_at, o.id LIMIT $1", limit)
        lines = await conn.fetch(
            "SELECT order_id, sku, quantity_milli, final_amount FROM web_order_lines "
            "WHERE order_id = ANY($1) AND state IN ('open', 'confirmed') "
            "ORDER BY order_id, line_no", [o["id"] for o in orders])
    by_order: dict[uuid.UUID, list[tuple[str, int, int]]] = {}
    for x in lines:
        by_order.setdefault(x["order_id"], []).append(
            (x["sku"], x["quantity_milli"], x["final_amount"]))
    return [OrderExport(str(o["id"]), o["created_at"], sum(x[2] for x in by_order.get(
        o["id"], [])), o["currency"], tuple(by_order.get(o["id"], [])), o["state"],
        o["version"]) for o in orders]


async def mark_exported(db: Database, orders: Sequence[tuple[str, int]]) -> None:
    """1C stored these versions (mode=success): a later change exports the order again."""
    async with db.transaction() as session:
        conn = await raw_connection(session)
        await conn.executemany(
            "INSERT INTO onec_order_exports (order_id, version) VALUES ($1, $2) "
            "ON CONFLICT (order_id) DO UPDATE SET version = greatest("
            "onec_order_exports.version, EXCLUDED.version), exported_at = now()",
            [(uuid.UUID(o), v) for o, v in orders])
