"""API key creation and verification with short in-memory caches.

The caches keep authentication off the database on the hot path:
- a verified key is trusted for `ttl` seconds (a revoked key stops working within `ttl`);
- an unknown key is remembered as unknown for `negative_ttl` seconds (short: a key created
  just after a miss works that soon), in a bounded cache of its own, so a flood of wrong
  keys costs at most one lookup per key and period and never evicts the valid keys;
- concurrent checks of one key share one lookup.
Only the hashes are kept. A failed lookup (the database is down) is not remembered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection

from server.auth.principal import Principal, PrincipalKind, hash_secret
from server.errors import Violations

Lookup = Callable[[bytes], Awaitable[Principal | None]]


class KeyVerifier:
    """Secret -> Principal, remembering known keys for `ttl` seconds and unknown ones for
    `negative_ttl`; `clock` (monotonic seconds) is injected so tests can move time."""

    def __init__(self, lookup: Lookup, ttl: float = 30.0, max_entries: int = 10_000,
                 negative_ttl: float = 5.0, max_negative: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._max = max_entries
        self._negative_ttl = negative_ttl
        self._max_negative = max_negative
        self._clock = clock
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._unknown: dict[bytes, float] = {}  # digest -> until; insertion order = age
        self._pending: dict[bytes, asyncio.Future[Principal | None]] = {}

    async def verify(self, secret: str) -> Principal | None:
        digest = hash_secret(secret)
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        until = self._unknown.get(digest)
        if until is not None:
            if until > now:
                return None
            del self._unknown[digest]
        pending = self._pending.get(digest)
        if pending is None:
            pending = self._pending[digest] = asyncio.ensure_future(self._fetch(digest))
            pending.add_done_callback(_retrieve)
        # shield: a caller that gives up does not cancel the lookup others wait for
        return await asyncio.shield(pending)

    async def _fetch(self, digest: bytes) -> Principal | None:
        try:
            principal = await self._lookup(digest)
        finally:
            del self._pending[digest]
        now = self._clock()
        if principal is None:
            if self._negative_ttl > 0:
                if len(self._unknown) >= self._max_negative:
                    del self._unknown[next(iter(self._unknown))]  # the oldest
                self._unknown[digest] = now + self._negative_ttl
        elif self._ttl > 0:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[digest] = (now + self._ttl, principal)
        return principal


def _retrieve(done: asyncio.Future[Principal | None]) -> None:
    """Mark a failed lookup's error as seen even if every caller waiting for it gave up."""
    if not done.cancelled():
        done.exception()


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
