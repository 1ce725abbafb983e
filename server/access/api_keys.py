"""Rules of an API key's life: expiry at creation, rotation grace, cheap last-used times."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Protocol

from server.errors import DomainError, ErrorKind, invalid

# last_used_at is written at most this often per key: a busy till must not turn every
# authentication into a row update (and the key cache hides most calls anyway).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# A rotation keeps the old secret working this long at most: long enough to roll a fleet of
# tills, short enough that "rotated" means the old secret dies soon.
MAX_ROTATION_GRACE = dt.timedelta(days=30)


def check_expire_time(expire_time: dt.datetime | None, now: dt.datetime,
                      field: str = "expire_time") -> None:
    if expire_time is not None and expire_time <= now:
        raise invalid(field, "must be in the future")


def rotation_grace(grace_seconds: float | None, default_seconds: float,
                   field: str = "grace_period") -> dt.timedelta:
    """The old secret's remaining life after a rotation; 0 ends it at once."""
    seconds = default_seconds if grace_seconds is None else grace_seconds
    grace = dt.timedelta(seconds=seconds)
    if grace < dt.timedelta(0) or grace > MAX_ROTATION_GRACE:
        raise invalid(field, f"between 0 and {MAX_ROTATION_GRACE.days} days")
    return grace


def last_used_due(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an authentication at `now` should record itself as the key's last use."""
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown of a key: never its secret nor the secret's hash."""

    id: uuid.UUID
    name: str
    kind: str
    roles: tuple[str, ...]
    store_code: str | None
    terminal_id: str | None
    network_code: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    rotated_at: dt.datetime | None = None
    previous_expires_at: dt.datetime | None = None  # the old secret's end, after a rotation

    def live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def key_not_found(key_id: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, "API_KEY_NOT_FOUND", f"no API key {key_id!r}",
                       metadata={"key_id": key_id})


def key_not_live(key: ApiKeyInfo) -> DomainError:
    state = "revoked" if key.revoked_at is not None else "expired"
    return DomainError(ErrorKind.FAILED_PRECONDITION, "API_KEY_NOT_LIVE",
                       f"the key is {state}; create a new one", metadata={"state": state})


class ApiKeyRepository(Protocol):
    """Key storage inside the caller's transaction (server/db/api_keys_repo.py)."""

    async def api_key(self, key_id: uuid.UUID, *, for_update: bool = False
                      ) -> ApiKeyInfo | None: ...

    async def revoke(self, key_id: uuid.UUID, now: dt.datetime) -> ApiKeyInfo | None: ...

    async def rotate(self, key_id: uuid.UUID, new_secret_hash: bytes, now: dt.datetime,
                     grace: dt.timedelta) -> ApiKeyInfo: ...


async def revoke(repo: ApiKeyRepository, key_id: uuid.UUID, now: dt.datetime) -> ApiKeyInfo:
    """Revoke the key (the RPC and `kopilka apikey revoke`); twice keeps the first time."""
    key = await repo.revoke(key_id, now)
    if key is None:
        raise key_not_found(str(key_id))
    return key


async def rotate(repo: ApiKeyRepository, key_id: uuid.UUID, new_secret_hash: bytes,
                 now: dt.datetime, grace: dt.timedelta) -> ApiKeyInfo:
    """Give a live key a new secret; the old one works until now + grace."""
    key = await repo.api_key(key_id, for_update=True)
    if key is None:
        raise key_not_found(str(key_id))
    if not key.live(now):
        raise key_not_live(key)
    return await repo.rotate(key_id, new_secret_hash, now, grace)
