"""The authenticated caller of one RPC, and API key secrets."""

from __future__ import annotations

import contextvars
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

SECRET_PREFIX = "kpk_"


class PrincipalKind(StrEnum):
    """Who holds a key."""

    TERMINAL = "terminal"
    STORE_BACKEND = "store_backend"
    OPERATOR = "operator"
    INTEGRATOR = "integrator"


@dataclass(frozen=True, slots=True)
class Principal:
    """An API key's holder as seen by the domain: identity, store binding, role names.

    Scope (see server/auth/scope.py): a store-bound key acts for its store only, a
    network-bound key for the stores of its network, a key with neither for every store.
    What the roles grant is data (server/auth/roles.py, RoleBook.access).
    """

    key_id: uuid.UUID
    name: str
    kind: PrincipalKind
    roles: tuple[str, ...]
    store_code: str | None = None
    terminal_id: str | None = None
    network_code: str | None = None

    @property
    def label(self) -> str:
        """Short audit label written next to every change this principal makes."""
        return f"{self.kind}:{self.name}"


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "current_principal", default=None
)


def new_secret() -> str:
    """A 256-bit random API key secret, prefixed so leaked keys are easy to grep for."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    """SHA-256 of the secret: keys are random, so a fast hash is safe and lookups stay O(1)."""
    return hashlib.sha256(secret.encode()).digest()
