"""A plain asyncpg pool for the hot paths: ConfirmReceipt, RedeemBonus, and the member
context CalculateReceipt reads.

Why not the SQLAlchemy engine: per call it costs a session, a greenlet hop per statement and
a lazily sent BEGIN; profiled, that was most of the server's CPU per call. asyncpg caches a
prepared statement per connection and SQL text, so the hot statements are parsed once.

Connections are created lazily (the first call may arrive before start-up hooks ran) and
are not reset on release: the hot paths never SET, LISTEN, lock advisory locks or keep
cursors, and asyncpg itself rolls back a transaction left open, so the reset query would
only add a round trip per call. No pre-ping either: a connection that died while idle fails
its call once (nothing committed, asyncpg drops it) and the client retries with the same
request_id, which is exactly-once by design.
"""

from __future__ import annotations

import asyncio

import asyncpg

from server.db.urls import plain_url


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release hook: nothing to reset (see the module docstring)."""


class LedgerPool:
    """Owns one asyncpg pool per server process; `get()` creates it on first use."""

    def __init__(self, url: str, size: int) -> None:
        self._dsn = plain_url(url)
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=1, max_size=self._size, reset=_keep_session,
                        server_settings={"application_name": "kopilka-ledger"})
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
