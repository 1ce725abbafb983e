"""The server's signing secret: generated once, shared by every worker through the database."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import ServerSecret

SIGNING_KEY = "signing_key"


async def signing_secret(session: AsyncSession) -> bytes:
    """Read the secret, creating it on first use (concurrent starters agree on one)."""
    await session.execute(
        insert(ServerSecret).values(name=SIGNING_KEY, value=secrets.token_bytes(32))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return (await session.execute(
        select(ServerSecret.value).where(ServerSecret.name == SIGNING_KEY)
    )).scalar_one()
