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
from server.errors import invalid
from server.ledger.model import Claim
from server.ledger.service import reused
from server.security.sealing import Sealer

R = TypeVar("R", bound=Message)


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
    """The ledger claim of a request; INVALID_ARGUMENT naming request_id if not a UUID."""
    raw = _request_id(request)
    try:
        request_id = uuid.UUID(raw)
    except ValueError:
        raise invalid("request_id", "not a UUID" if raw else "required (a UUID)") from None
    return Claim(principal_id, request_id, method, request_digest(request))


def _request_id(request: Message) -> str:
    """The request_id field every mutating request has (Message does not say so)."""
    return str(getattr(request, "request_id", ""))


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
    principal_id: uuid.UUID | None = None,
    sealer: Sealer | None = None,
) -> R:
    """Run `work` in one transaction unless this request id already ran.

    The claim, the change and the stored answer commit together; a failure rolls all back,
    so a failed call can be retried with the same id. ``principal_id`` is for doors without
    an RPC principal (a CLI command names its own); an RPC's is its key's.

    ``sealer`` is for answers that carry a secret shown once (a new API key's secret, a
    TOTP secret) or requests that carry a password: the stored answer is then AES-GCM
    sealed, bound to its caller, request id and method (server/security/sealing.py), and
    the request's digest is keyed (HMAC) instead of a plain SHA-256 — a retry still gets
    the first answer, the row holds no secret in clear.
    """
    request_id = parse_uuid(_request_id(request), "request_id")
    if principal_id is None:  # request ids are per caller: another key's are its own
        principal_id = caller().key_id
    if sealer is None:
        digest = request_digest(request)
    else:
        digest = sealer.digest(request.SerializeToString(deterministic=True))
    bound = principal_id.bytes + request_id.bytes + method.encode()
    async with db.transaction() as session:
        prior = await claim(session, principal_id, request_id, method, digest)
        if prior is not None:
            if prior.method != method or prior.request_hash != digest:
                raise reused()
            stored = prior.response or b""
            answer = response_type()
            answer.ParseFromString(stored if sealer is None else sealer.open(stored, bound))
            return answer
        answer = await work(session)
        plain = answer.SerializeToString(deterministic=True)
        await store_response(session, principal_id, request_id,
                             plain if sealer is None else sealer.seal(plain, bound))
        return answer
