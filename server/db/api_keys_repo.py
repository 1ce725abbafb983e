"""Storage of API keys (hashed) and their principals."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import Principal, PrincipalKind
from server.db.models import ApiKey


async def add_api_key(
    session: AsyncSession, *, name: str, kind: PrincipalKind, roles: list[str],
    secret_hash: bytes, store_code: str | None = None, terminal_id: str | None = None,
    network_code: str | None = None,
) -> uuid.UUID:
    key_id = uuid.uuid4()
    await session.execute(insert(ApiKey).values(
        id=key_id, name=name, kind=kind.value, roles=roles, secret_hash=secret_hash,
        store_code=store_code, terminal_id=terminal_id, network_code=network_code,
    ))
    return key_id


async def principal_by_secret_hash(session: AsyncSession, secret_hash: bytes) -> Principal | None:
    """The holder of a live (not revoked) key with this hash."""
    row = await session.scalar(
        select(ApiKey).where(ApiKey.secret_hash == secret_hash, ApiKey.revoked_at.is_(None))
    )
    if row is None:
        return None
    return Principal(row.id, row.name, PrincipalKind(row.kind), tuple(row.roles),
                     row.store_code, row.terminal_id, row.network_code)
