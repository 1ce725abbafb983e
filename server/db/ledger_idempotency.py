"""Exactly-once for the ledger hot paths, on raw asyncpg connections.

The contract of server/api/idempotency.run_once (claim + work + stored answer in one
transaction; a retry gets the first answer; other content under the same id is
REQUEST_ID_REUSED), with fewer round trips: `work(conn)` claims the request id itself (q.CLAIM)
and stores its answer (q.STORE). It returns None when the claim found the id taken; the runner
then answers from the stored record. The two hottest paths go further, one function call each
with the same contract inside the database: see ledger_fast.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import ledger_sql as q
from server.db.database import Database
from server.db.ledger_pool import LedgerPool
from server.db.ledger_repo import raw_connection
from server.errors import DomainError, ErrorKind, FieldViolation, invalid

R = TypeVar("R", bound=Message)


@dataclass(frozen=True, slots=True)
class Claim:
    """What identifies one mutating call: the caller, its request id, method, request digest.

    Request ids are the caller's own: the same id from another key is another request.
    """

    principal_id: uuid.UUID
    request_id: uuid.UUID
    method: str
    digest: bytes

    @property
    def params(self) -> tuple[uuid.UUID, uuid.UUID, str, bytes]:
        """$1, $2, $3, $4 of every claiming statement."""
        return self.principal_id, self.request_id, self.method, self.digest


def request_digest(request: Message, *leave_out: str) -> bytes:
    """SHA-256 of the request's deterministic serialization, without the fields named."""
    if leave_out:
        copy = type(request)()
        copy.CopyFrom(request)
        for name in leave_out:
            copy.ClearField(name)
        request = copy
    return hashlib.sha256(request.SerializeToString(deterministic=True)).digest()


def claim_of(method: str, request: Message, principal_id: uuid.UUID) -> Claim:
    """The claim of a request; INVALID_ARGUMENT naming request_id when it is not a UUID."""
    raw = request.request_id  # type: ignore[attr-defined]
    try:
        request_id = uuid.UUID(raw)
    except ValueError:
        raise invalid("request_id", "not a UUID" if raw else "required (a UUID)") from None
    return Claim(principal_id, request_id, method, request_digest(request))


async def claim(conn: asyncpg.Connection, claim: Claim) -> bool:
    """Claim the id in the caller's transaction; False when it was taken already."""
    return await conn.fetchval(q.CLAIM, *claim.params) is not None


async def store_answer(conn: asyncpg.Connection, claim: Claim, answer: Message) -> None:
    await conn.execute(q.STORE, claim.principal_id, claim.request_id,
                       answer.SerializeToString(deterministic=True))


async def prior_answer(conn: asyncpg.Connection, claim: Claim, response_type: type[R]) -> R:
    """The first answer under this id, or REQUEST_ID_REUSED when the content differs."""
    prior = await conn.fetchrow(q.PRIOR, claim.principal_id, claim.request_id)
    if prior["method"] != claim.method or bytes(prior["request_hash"]) != claim.digest:
        raise reused()
    return response_type.FromString(bytes(prior["response"] or b""))


def reused() -> DomainError:
    """The refusal of a request id that came before with another method or content."""
    return DomainError(ErrorKind.ALREADY_EXISTS, "REQUEST_ID_REUSED",
                       "request_id was already used for a different request",
                       [FieldViolation("request_id", "reused with different content")])


async def run_once_pooled(pool: LedgerPool, claim: Claim, response_type: type[R],
                          work: Callable[[asyncpg.Connection], Awaitable[R | None]]) -> R:
    """Run `work` (see the module docstring) in one transaction on the ledger pool."""
    async with (await pool.get()).acquire() as conn, conn.transaction():
        answer = await work(conn)
        return answer if answer is not None else await prior_answer(conn, claim, response_type)


async def run_once_in_session(
    db: Database, claim: Claim, response_type: type[R],
    work: Callable[[AsyncSession, asyncpg.Connection], Awaitable[R | None]],
) -> R:
    """The same inside a SQLAlchemy session, for work that also needs ORM-based modules."""
    async with db.transaction() as session:
        conn = await raw_connection(session)
        answer = await work(session, conn)
        return answer if answer is not None else await prior_answer(conn, claim, response_type)
