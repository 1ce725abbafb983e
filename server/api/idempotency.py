"""Exactly-once mutating RPCs: a retry with the same request_id returns the first answer."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.deps import caller
from server.db.database import Database
from server.db.idempotency_repo import claim, store_response
from server.errors import DomainError, ErrorKind, FieldViolation, invalid

R = TypeVar("R", bound=Message)


def parse_uuid(value: str, field_path: str) -> uuid.UUID:
    """A UUID from a request field, or INVALID_ARGUMENT naming the field."""
    if not value:
        raise invalid(field_path, "required (a UUID)")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid(field_path, "not a UUID") from None


async def run_once(
    db: Database,
    method: str,
    request: Message,
    response_type: type[R],
    work: Callable[[AsyncSession], Awaitable[R]],
) -> R:
    """Run `work` in one transaction unless this request id already ran.

    The claim, the change and the stored answer commit together; a failure rolls all back,
    so a failed call can be retried with the same id.
    """
    request_id = parse_uuid(request.request_id, "request_id")  # type: ignore[attr-defined]
    digest = hashlib.sha256(request.SerializeToString(deterministic=True)).digest()
    principal_id = caller().key_id  # request ids are per caller: another key's are its own
    async with db.transaction() as session:
        prior = await claim(session, principal_id, request_id, method, digest)
        if prior is not None:
            if prior.method != method or prior.request_hash != digest:
                raise DomainError(
                    ErrorKind.ALREADY_EXISTS, "REQUEST_ID_REUSED",
                    "request_id was already used for a different request",
                    [FieldViolation("request_id", "reused with different content")],
                )
            answer = response_type()
            answer.ParseFromString(prior.response or b"")
            return answer
        answer = await work(session)
        await store_response(session, principal_id, request_id,
                             answer.SerializeToString(deterministic=True))
        return answer
