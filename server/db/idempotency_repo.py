"""Storage of first answers per request id (see server/api/idempotency.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import IdempotencyRecord


async def claim(
    session: AsyncSession, principal_id: uuid.UUID, request_id: uuid.UUID, method: str,
    request_hash: bytes,
) -> IdempotencyRecord | None:
    """Claim the caller's request id inside the caller's transaction.

    Returns None when this call owns it now; otherwise the earlier record. A concurrent
    duplicate blocks on the unique key until the first transaction ends, so the two can
    never both run the mutation.
    """
    claimed = await session.scalar(
        insert(IdempotencyRecord)
        .values(principal_id=principal_id, request_id=request_id, method=method,
                request_hash=request_hash)
        .on_conflict_do_nothing(index_elements=["principal_id", "request_id"])
        .returning(IdempotencyRecord.request_id)
    )
    if claimed is not None:
        return None
    return await session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.principal_id == principal_id,
                                        IdempotencyRecord.request_id == request_id)
    )


async def store_response(session: AsyncSession, principal_id: uuid.UUID, request_id: uuid.UUID,
                         response: bytes) -> None:
    """Remember the answer in the same transaction as the change it describes."""
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.principal_id == principal_id,
               IdempotencyRecord.request_id == request_id)
        .values(response=response)
    )
