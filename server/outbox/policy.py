"""When to retry a delivery and when to give up: exponential backoff, bounded attempts."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from server.plugin_contracts import SendStatus


class Verdict(enum.StrEnum):
    """What the outbox does with an item after one attempt."""

    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    delay_seconds: float = 0.0  # only for RETRY


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt n (1-based) that failed transiently waits base * 2**(n-1), capped, jittered.

    Jitter spreads retries of many rows that failed together (an SMSC outage) so they do
    not hit the provider in one burst when it comes back; ``jitter`` is the +- fraction.
    """

    max_attempts: int = 8
    base_seconds: float = 5.0
    max_seconds: float = 900.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds <= 0 or self.max_seconds <= 0:
            raise ValueError("max_attempts >= 1 and positive delays are required")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempt`-th failed attempt."""
        doubling: int = 2 ** max(attempt - 1, 0)  # a power >= 0, so an int
        raw = min(self.base_seconds * doubling, self.max_seconds)
        if not self.jitter:
            return raw
        spread = raw * self.jitter
        return raw - spread + (rng or random).random() * 2 * spread

    def after_send(self, status: SendStatus, attempt: int) -> Decision:
        """Accepted is done, rejected is final at once, transient failures retry until N."""
        if status is SendStatus.ACCEPTED:
            return Decision(Verdict.DONE)
        if status is SendStatus.REJECTED:
            return Decision(Verdict.FAILED)
        return self.after_failure(attempt)

    def after_failure(self, attempt: int) -> Decision:
        """A transient failure of the `attempt`-th attempt."""
        if attempt >= self.max_attempts:
            return Decision(Verdict.FAILED)
        return Decision(Verdict.RETRY, self.delay(attempt))
