"""API key creation and verification with a short in-memory cache.

The cache keeps authentication off the database on the hot path; a revoked key stops
working within `ttl` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection

from server.auth.principal import Principal, PrincipalKind, hash_secret
from server.errors import Violations

Lookup = Callable[[bytes], Awaitable[Principal | None]]


class KeyVerifier:
    """Secret -> Principal, remembering answers (including misses) for `ttl` seconds."""

    def __init__(self, lookup: Lookup, ttl: float = 30.0, max_entries: int = 10_000) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._max = max_entries
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}

    async def verify(self, secret: str) -> Principal | None:
        digest = hash_secret(secret)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = await self._lookup(digest)
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal)
        return principal


def validate_new_key(
    name: str, kind: PrincipalKind | None, roles: list[str], store_code: str | None,
    terminal_id: str | None, network_code: str | None = None, *,
    known_roles: Collection[str],
) -> None:
    """Every rule a new key must satisfy, reported together; `known_roles`: the roles in
    the database."""
    errors = Violations()
    if not name.strip():
        errors.add("name", "required")
    if kind is None:
        errors.add("kind", "required")
    if not roles:
        errors.add("roles", "at least one role")
    for i, role in enumerate(roles):
        if role not in known_roles:
            errors.add(f"roles[{i}]",
                       f"unknown role {role!r}; known: {', '.join(sorted(known_roles))}")
    if kind in (PrincipalKind.TERMINAL, PrincipalKind.STORE_BACKEND) and not store_code:
        errors.add("store_code", f"required for a {kind} key")
    if kind is PrincipalKind.TERMINAL and not terminal_id:
        errors.add("terminal_id", "required for a terminal key")
    if store_code and network_code:
        errors.add("network_code", "give a store or a network, not both")
    errors.raise_if_any()
