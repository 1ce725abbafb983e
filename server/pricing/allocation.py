"""Largest-remainder allocation: split an integer total over weights exactly."""

from __future__ import annotations


def allocate_largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split `total` proportionally to `weights` so the shares add up to `total` exactly.

    Each share starts at floor(total * w / sum(w)); the leftover units go one by one to the
    largest fractional remainders, ties broken by the lower index, so the result is
    deterministic. When `total <= sum(weights)` no share exceeds its weight (a receipt
    discount never pushes a line below zero): floor(x) + 1 is only given when x is not whole.
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    weight_sum = sum(weights)
    if total == 0:
        return [0] * len(weights)
    if weight_sum == 0:
        raise ValueError("cannot allocate a positive total over zero weights")
    shares: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, weight_sum)
        shares.append(share)
        remainders.append((-remainder, index))
    leftover = total - sum(shares)
    for _, index in sorted(remainders)[:leftover]:
        shares[index] += 1
    return shares
