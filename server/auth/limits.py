"""Rate limits on reading members and on guessing keys: in-memory token buckets.

Two limits, both per server worker (with KOPILKA_WORKERS=N a caller may get up to N times
the rate):

- lookups per API key (LOOKUP_RPCS): a till or a leaked key cannot page through the member
  base; the sale path (CalculateReceipt, ConfirmReceipt) is never limited;
- failed authentications (no key, unknown key) per peer address: after the allowance is
  spent, every call from that address is refused until a token refills, even with a valid
  key, so guessing keys gains nothing from a lucky hit. Only failures are counted; while no
  address is over its allowance the check is one dictionary truthiness test.

A bucket holds `per_minute` tokens and refills evenly over a minute; a refusal says how long
until the next token (google.rpc.RetryInfo). `per_minute=0` turns a limit off. The clock is
injected so tests move time instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from server.errors import DomainError, ErrorKind

Clock = Callable[[], float]

# Reads that reveal members, balances or certificates one at a time: the ones worth scraping.
LOOKUP_RPCS = frozenset({
    "/kopilka.v1.MemberService/FindMember",
    "/kopilka.v1.MemberService/GetMember",
    "/kopilka.v1.MemberService/ListPurchases",
    "/kopilka.v1.BonusService/GetBalance",
    "/kopilka.v1.CertificateService/GetCertificate",
})


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # clock reading `tokens` was computed at


class TokenBuckets:
    """One token bucket per name (a key id, an address), created full on first use."""

    def __init__(self, per_minute: int, clock: Clock = time.monotonic,
                 max_entries: int = 100_000) -> None:
        self.per_minute = per_minute
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._max = max_entries
        self._buckets: dict[Hashable, _Bucket] = {}
        self._all_full_at = 0.0  # clock reading by which every bucket has refilled

    @property
    def busy(self) -> bool:
        """Whether some bucket may be below capacity; False means `wait` would say 0."""
        return bool(self._buckets)

    def _level(self, bucket: _Bucket, now: float) -> float:
        return min(self._capacity, bucket.tokens + (now - bucket.at) * self._rate)

    def _delay(self, tokens: float) -> float:
        return (1.0 - tokens) / self._rate

    def take(self, name: Hashable) -> float:
        """Spend one of `name`'s tokens: 0.0 when there was one, else the seconds until
        there is one (nothing is spent then)."""
        if self._rate <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(name)
        tokens = self._capacity if bucket is None else self._level(bucket, now)
        if tokens < 1.0:
            return self._delay(tokens)
        if bucket is None:
            if len(self._buckets) >= self._max:
                self._forget_full(now)
            bucket = self._buckets[name] = _Bucket(tokens, now)
        bucket.tokens, bucket.at = tokens - 1.0, now
        full_at = now + (self._capacity - bucket.tokens) / self._rate
        self._all_full_at = max(self._all_full_at, full_at)
        return 0.0

    def wait(self, name: Hashable) -> float:
        """Seconds until `name` has a token (0.0: it has one now); spends nothing."""
        if not self._buckets:
            return 0.0
        now = self._clock()
        if now >= self._all_full_at:
            self._buckets.clear()  # everyone has refilled: back to the free fast path
            return 0.0
        bucket = self._buckets.get(name)
        if bucket is None:
            return 0.0
        tokens = self._level(bucket, now)
        return 0.0 if tokens >= 1.0 else self._delay(tokens)

    def _forget_full(self, now: float) -> None:
        """Drop refilled buckets; if all are still draining, drop all (fail open)."""
        full = [name for name, b in self._buckets.items() if self._level(b, now) >= self._capacity]
        for name in full:
            del self._buckets[name]
        if len(self._buckets) >= self._max:
            self._buckets.clear()


@dataclass
class Limits:
    """The server's two limits (see the module docstring)."""

    lookups: TokenBuckets
    auth_failures: TokenBuckets

    @classmethod
    def per_minute(cls, lookups: int, auth_failures: int,
                   clock: Clock = time.monotonic) -> Limits:
        return cls(TokenBuckets(lookups, clock), TokenBuckets(auth_failures, clock))


def _whole_seconds(delay: float) -> int:
    """Seconds to tell the caller: rounded up, but float dust (20.0000000001) is not a
    second."""
    return max(1, math.ceil(round(delay, 3)))


def lookups_limited(per_minute: int, delay: float) -> DomainError:
    retry = _whole_seconds(delay)
    return DomainError(
        ErrorKind.RESOURCE_EXHAUSTED, "LOOKUP_RATE_LIMITED",
        f"this key made more than {per_minute} lookups a minute; try again in {retry} s",
        metadata={"limit_per_minute": str(per_minute), "retry_after_seconds": str(retry)})


def auth_failures_limited(per_minute: int, delay: float) -> DomainError:
    retry = _whole_seconds(delay)
    return DomainError(
        ErrorKind.RESOURCE_EXHAUSTED, "TOO_MANY_AUTH_FAILURES",
        f"more than {per_minute} calls a minute from this address had no valid API key; "
        f"try again in {retry} s",
        metadata={"limit_per_minute": str(per_minute), "retry_after_seconds": str(retry)})
