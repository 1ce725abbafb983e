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

Every wait is bounded like the SQLAlchemy engine's (server/db/database.py
`connection_options`); failing to open the pool maps to DATABASE_UNAVAILABLE through the
database's watch, and statements' errors of an unreachable database are mapped by the API
interceptor with the same watch. When an outage ends, every pooled connection is replaced.
"""

from __future__ import annotations

import asyncio

import asyncpg

from server.db.database import connection_options
from server.db.outage import DatabaseWatch
from server.db.urls import plain_url


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release hook: nothing to reset (see the module docstring)."""


class LedgerPool:
    """Owns one asyncpg pool per server process; `get()` creates it on first use."""

    def __init__(self, url: str, size: int, *, connect_timeout: float = 5.0,
                 statement_timeout: float = 15.0, watch: DatabaseWatch | None = None) -> None:
        self._dsn = plain_url(url)
        self._size = size
        self._options = connection_options(connect_timeout, statement_timeout)
        self._options["server_settings"]["application_name"] = "kopilka-ledger"
        self._watch = watch
        if watch is not None:
            watch.on_change(self._back)
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    try:
                        self._pool = await asyncpg.create_pool(
                            self._dsn, min_size=1, max_size=self._size, reset=_keep_session,
                            **self._options)
                    except Exception as error:
                        unavailable = self._watch.check(error) if self._watch else None
                        if unavailable is None:
                            raise
                        raise unavailable from None
        return self._pool

    async def _back(self, up: bool) -> None:
        if up and self._pool is not None:
            await self._pool.expire_connections()

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
