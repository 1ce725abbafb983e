"""Migration 0026 down and up again: the coupon tables, kopilka_spend_coupon and the coupon
grants go and come back; kopilka_confirm_receipt keeps 0019's events block either way."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command

from server.db.migrate import alembic_config

GRANTS = """SELECT name, array_agg(g->>'action' ORDER BY g->>'action') AS actions
              FROM roles, jsonb_array_elements(grants) AS x(g)
             WHERE g->>'object_type' = 'coupons' GROUP BY name ORDER BY name"""
CONFIRM = "SELECT prosrc FROM pg_proc WHERE proname = 'kopilka_confirm_receipt'"


async def _query(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_0026_goes_down_and_up_again(database_url):
    up = {r["name"]: list(r["actions"]) for r in await _query(database_url, GRANTS)}
    assert up == {"admin": sorted(["read", "create", "update", "delete", "approve", "export"]),
                  "operator": ["create", "read", "update"]}
    [source] = await _query(database_url, CONFIRM)
    assert "kopilka_spend_coupon" in source["prosrc"]
    assert "purchase.confirmed" in source["prosrc"]  # 0019's events are kept
    cfg = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, cfg, "0022")
    assert await _query(database_url, GRANTS) == []
    assert await _query(database_url, "SELECT 1 FROM pg_tables "
                                      "WHERE tablename LIKE 'coupon%'") == []
    [source] = await _query(database_url, CONFIRM)
    assert "coupon" not in source["prosrc"] and "purchase.confirmed" in source["prosrc"]
    await asyncio.to_thread(command.upgrade, cfg, "heads")
    assert {r["name"]: list(r["actions"]) for r in await _query(database_url, GRANTS)} == up
