"""The stores things belong to, for the store-scope check (server/auth/scope.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Receipt, StoreNetwork, StoreNetworkMember


async def store_network_codes(session: AsyncSession, store_code: str) -> frozenset[str]:
    """The networks a store belongs to (none for an unknown store)."""
    rows = await session.scalars(select(StoreNetworkMember.network_code)
                                 .where(StoreNetworkMember.store_code == store_code))
    return frozenset(rows)


async def network_store_codes(session: AsyncSession, network_code: str) -> frozenset[str]:
    """The stores of a network (none for an unknown network)."""
    rows = await session.scalars(select(StoreNetworkMember.store_code)
                                 .where(StoreNetworkMember.network_code == network_code))
    return frozenset(rows)


async def receipt_store_code(session: AsyncSession, receipt_id: uuid.UUID) -> str | None:
    """The store a receipt was sold in, or None when there is no such receipt."""
    return await session.scalar(select(Receipt.store_code).where(Receipt.id == receipt_id))


async def network_exists(session: AsyncSession, code: str) -> bool:
    """Whether a store network of this code exists (networks come with their stores)."""
    return await session.scalar(select(StoreNetwork.code).where(StoreNetwork.code == code)) \
        is not None
