"""Token buckets of server/auth/limits.py: refill, the free path when idle, bounded memory."""

from __future__ import annotations

from server.auth.limits import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_refills_evenly_and_then_leaves_the_fast_path_free() -> None:
    clock = Clock()
    buckets = TokenBuckets(6, clock)  # one token every 10 s
    assert [buckets.take("a") for _ in range(6)] == [0.0] * 6
    assert buckets.take("a") == 10.0 and buckets.wait("a") == 10.0
    assert buckets.wait("b") == 0.0 and buckets.take("b") == 0.0  # names are separate
    clock.now = 4.0
    assert round(buckets.wait("a"), 6) == 6.0
    clock.now = 10.0
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    assert buckets.busy
    clock.now = 1000.0
    assert buckets.wait("zzz") == 0.0 and not buckets.busy  # all refilled: state dropped


def test_zero_turns_a_limit_off_and_memory_stays_bounded() -> None:
    off = TokenBuckets(0, Clock())
    assert all(off.take("a") == 0.0 for _ in range(100)) and not off.busy
    clock = Clock()
    small = TokenBuckets(1, clock, max_entries=3)
    for name in "abcde":
        assert small.take(name) == 0.0
    assert len(small._buckets) <= 3
