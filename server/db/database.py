"""Engine, sessions and transactions: one AsyncSession per call, never shared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.db.urls import sqlalchemy_url


class Database:
    """Owns the connection pool; `transaction()` gives a session inside BEGIN ... COMMIT."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        # No pre-ping: it costs a round trip on every checkout. A connection that died while
        # idle fails its one call (nothing commits; SQLAlchemy sees the disconnect and
        # invalidates the pool, so the next checkouts reconnect) and the client retries with
        # the same request_id, which every mutating RPC treats exactly once.
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on any exception: each RPC is one atomic unit."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
