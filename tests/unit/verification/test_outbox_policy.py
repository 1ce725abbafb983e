"""Retry decisions of the outbox: exponential backoff, caps, final failure."""

from __future__ import annotations

import random

import pytest

from server.outbox.policy import RetryPolicy, Verdict
from server.plugin_api import SendStatus


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=2, max_seconds=30, jitter=0)
    assert [policy.delay(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_jitter_stays_within_its_band() -> None:
    policy = RetryPolicy(base_seconds=10, max_seconds=100, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay(2, rng) for _ in range(500)]
    assert min(delays) >= 16 and max(delays) <= 24
    assert max(delays) - min(delays) > 4  # really spread


def test_outcomes_map_to_verdicts() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=1, jitter=0)
    assert policy.after_send(SendStatus.ACCEPTED, 1).verdict is Verdict.DONE
    assert policy.after_send(SendStatus.REJECTED, 1).verdict is Verdict.FAILED
    retry = policy.after_send(SendStatus.RETRY_LATER, 2)
    assert (retry.verdict, retry.delay_seconds) == (Verdict.RETRY, 2)
    assert policy.after_send(SendStatus.RETRY_LATER, 3).verdict is Verdict.FAILED


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_seconds": 0}, {"jitter": 1}])
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
