"""Engine, sessions and transactions: one AsyncSession per call, never shared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.db.outage import DatabaseWatch
from server.db.urls import plain_url, sqlalchemy_url

# The client waits this much longer than PostgreSQL's statement_timeout: a live server
# cancels the statement itself (the connection stays usable); only a hung one is given up on.
CLIENT_GRACE_SECONDS = 1.0


def connection_options(connect_timeout: float, statement_timeout: float) -> dict[str, Any]:
    """asyncpg.connect / create_pool keywords that bound every wait on the database."""
    return {
        "timeout": connect_timeout,
        "command_timeout": statement_timeout + CLIENT_GRACE_SECONDS,
        "server_settings": {"statement_timeout": str(max(1, round(statement_timeout * 1000)))},
    }


class Database:
    """Owns the connection pool; `transaction()` gives a session inside BEGIN ... COMMIT.

    `watch` sees every error of a transaction: one that means the database is unreachable
    becomes DATABASE_UNAVAILABLE (server/db/outage.py), the rest pass unchanged.
    """

    def __init__(self, url: str, pool_size: int = 10, *, connect_timeout: float = 5.0,
                 statement_timeout: float = 15.0) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        # No pre-ping: it costs a round trip on every checkout. A connection that died while
        # idle fails its one call (nothing commits; SQLAlchemy sees the disconnect and
        # invalidates the pool, so the next checkouts reconnect) and the client retries with
        # the same request_id, which every mutating RPC treats exactly once.
        # hide_parameters: an error's text never carries the statement's values (phones,
        # e-mails, names), so neither does a logged traceback.
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
            pool_timeout=connect_timeout + statement_timeout, hide_parameters=True,
            connect_args=connection_options(connect_timeout, statement_timeout),
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.watch = DatabaseWatch(self.probe)
        self.watch.on_change(self._back)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on any exception: each RPC is one atomic unit."""
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except Exception as error:
            unavailable = self.watch.check(error)
            if unavailable is None:
                raise
            raise unavailable from None

    async def probe(self) -> None:
        """One round trip on a fresh connection, within the configured timeouts."""
        conn = await asyncpg.connect(plain_url(self.url), timeout=self.connect_timeout,
                                     command_timeout=self.statement_timeout)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            conn.terminate()  # close() would wait for a reply a hung server never sends

    async def _back(self, up: bool) -> None:
        """After an outage every pooled connection is likely dead: start afresh."""
        if up:
            await self.engine.dispose()

    async def dispose(self) -> None:
        await self.watch.close()
        await self.engine.dispose()
