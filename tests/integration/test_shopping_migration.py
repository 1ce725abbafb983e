"""Migration 0018 down and up again: the shopping tables and the seeded roles' shopping
grants go and come back, the other grants untouched."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command

from server.db.migrate import alembic_config

GRANTS = """SELECT name, array_agg(g->>'action' ORDER BY g->>'action') AS actions
              FROM roles, jsonb_array_elements(grants) AS x(g)
             WHERE g->>'object_type' = 'shopping' GROUP BY name ORDER BY name"""


async def _query(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_0018_goes_down_and_up_again(database_url):
    up = {r["name"]: list(r["actions"]) for r in await _query(database_url, GRANTS)}
    assert up == {"admin": sorted(["read", "create", "update", "delete", "approve", "export"]),
                  "operator": ["read"], "store_backend": ["create", "read"]}
    others = await _query(database_url, "SELECT name, jsonb_array_length(grants) AS n "
                                        "FROM roles ORDER BY name")
    cfg = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, cfg, "0016")
    assert await _query(database_url, GRANTS) == []
    assert await _query(database_url, "SELECT 1 FROM pg_tables "
                                      "WHERE tablename LIKE 'shopping_%'") == []
    await asyncio.to_thread(command.upgrade, cfg, "heads")
    assert {r["name"]: list(r["actions"]) for r in await _query(database_url, GRANTS)} == up
    assert await _query(database_url, "SELECT name, jsonb_array_length(grants) AS n "
                                      "FROM roles ORDER BY name") == others
