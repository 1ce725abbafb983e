"""run_once for the ledger hot paths: the same contract as server/api/idempotency.run_once
(claim + work + stored answer in one transaction), with the claim and the answer sent as
asyncpg prepared statements on the session's own connection instead of through the ORM."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import ledger_sql as q
from server.db.database import Database
from server.db.ledger_repo import raw_connection
from server.errors import DomainError, ErrorKind, FieldViolation, invalid

R = TypeVar("R", bound=Message)


async def run_once_raw(db: Database, method: str, request: Message, response_type: type[R],
                       work: Callable[[AsyncSession], Awaitable[R]]) -> R:
    """Run `work` once per request_id; a retry gets the stored first answer."""
    import uuid

    try:
        request_id = uuid.UUID(request.request_id)  # type: ignore[attr-defined]
    except ValueError:
        raise invalid("request_id", "required (a UUID)" if not request.request_id  # type: ignore[attr-defined]
                      else "not a UUID") from None
    digest = hashlib.sha256(request.SerializeToString(deterministic=True)).digest()
    async with db.transaction() as session:
        conn = await raw_connection(session)
        if await conn.fetchval(q.CLAIM, request_id, method, digest) is None:
            prior = await conn.fetchrow(q.PRIOR, request_id)
            if prior["method"] != method or bytes(prior["request_hash"]) != digest:
                raise DomainError(
                    ErrorKind.ALREADY_EXISTS, "REQUEST_ID_REUSED",
                    "request_id was already used for a different request",
                    [FieldViolation("request_id", "reused with different content")])
            return response_type.FromString(bytes(prior["response"] or b""))
        answer = await work(session)
        await conn.execute(q.STORE, request_id, answer.SerializeToString(deterministic=True))
        return answer
