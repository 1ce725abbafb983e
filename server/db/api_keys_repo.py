"""Storage of API keys (hashed) and their principals: create, look up, list, revoke, rotate.

The lookup is the only place that decides whether a secret is live (not revoked, not
expired, or the previous secret of a rotation still in its grace time), so the key cache in
server/auth/keys.py needs no rules of its own: a revoked key stops working once the cache
forgets it (KOPILKA_API_KEY_CACHE_SECONDS).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.access.api_keys import LAST_USED_RESOLUTION, ApiKeyInfo, last_used_due
from server.auth.principal import Principal, PrincipalKind
from server.db.models import ApiKey


async def add_api_key(
    session: AsyncSession, *, name: str, kind: PrincipalKind, roles: list[str],
    secret_hash: bytes, store_code: str | None = None, terminal_id: str | None = None,
    network_code: str | None = None, expires_at: dt.datetime | None = None,
) -> uuid.UUID:
    key_id = uuid.uuid4()
    await session.execute(insert(ApiKey).values(
        id=key_id, name=name, kind=kind.value, roles=roles, secret_hash=secret_hash,
        store_code=store_code, terminal_id=terminal_id, network_code=network_code,
        expires_at=expires_at,
    ))
    return key_id


async def principal_by_secret_hash(session: AsyncSession, secret_hash: bytes,
                                   now: dt.datetime | None = None) -> Principal | None:
    """The holder of a live key with this secret (its current one, or the previous one within
    the rotation's grace time); records the use at most once a minute per key."""
    now = now or dt.datetime.now(dt.UTC)
    row = await session.scalar(select(ApiKey).where(
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        or_(ApiKey.secret_hash == secret_hash,
            and_(ApiKey.previous_secret_hash == secret_hash, ApiKey.previous_expires_at > now)),
    ))
    if row is None:
        return None
    if last_used_due(row.last_used_at, now):
        # Conditional, so two workers missing their caches at once write once.
        await session.execute(update(ApiKey).where(
            ApiKey.id == row.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_RESOLUTION),
        ).values(last_used_at=now))
    return Principal(row.id, row.name, PrincipalKind(row.kind), tuple(row.roles),
                     row.store_code, row.terminal_id, row.network_code)


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, row.name, row.kind, tuple(row.roles), row.store_code,
                      row.terminal_id, row.network_code, row.created_at, row.expires_at,
                      row.revoked_at, row.last_used_at, row.rotated_at, row.previous_expires_at)


async def list_api_keys(session: AsyncSession, *, include_revoked: bool = False
                        ) -> list[ApiKeyInfo]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [_info(row) for row in await session.scalars(query)]


async def api_key(session: AsyncSession, key_id: uuid.UUID, *, for_update: bool = False
                  ) -> ApiKeyInfo | None:
    query = select(ApiKey).where(ApiKey.id == key_id)
    row = await session.scalar(query.with_for_update() if for_update else query)
    return None if row is None else _info(row)


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID, now: dt.datetime
                         ) -> ApiKeyInfo | None:
    """Revoke the key (both secrets of a rotation); revoking twice keeps the first time."""
    await session.execute(update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                          .values(revoked_at=now))
    return await api_key(session, key_id)


async def rotate_api_key(session: AsyncSession, key_id: uuid.UUID, new_secret_hash: bytes,
                         now: dt.datetime, grace: dt.timedelta) -> ApiKeyInfo:
    """The new secret becomes the key's; the current one stays live until now + grace.
    A secret from an earlier rotation still in its grace time ends now: at most two live."""
    row = await session.scalar(
        update(ApiKey).where(ApiKey.id == key_id).values(
            previous_secret_hash=ApiKey.secret_hash, previous_expires_at=now + grace,
            secret_hash=new_secret_hash, rotated_at=now,
        ).returning(ApiKey).execution_options(populate_existing=True))
    if row is None:
        raise LookupError(f"API key {key_id} vanished inside its transaction")
    return _info(row)


class SqlApiKeyRepository:
    """server/access/api_keys.py's ApiKeyRepository over one AsyncSession."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def api_key(self, key_id: uuid.UUID, *, for_update: bool = False
                      ) -> ApiKeyInfo | None:
        return await api_key(self._s, key_id, for_update=for_update)

    async def revoke(self, key_id: uuid.UUID, now: dt.datetime) -> ApiKeyInfo | None:
        return await revoke_api_key(self._s, key_id, now)

    async def rotate(self, key_id: uuid.UUID, new_secret_hash: bytes, now: dt.datetime,
                     grace: dt.timedelta) -> ApiKeyInfo:
        return await rotate_api_key(self._s, key_id, new_secret_hash, now, grace)
