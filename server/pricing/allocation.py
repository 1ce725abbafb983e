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
    if weights and min(weights) < 0:
        raise ValueError("weights must be >= 0")
    weight_sum = sum(weights)
    if total == 0:
        return [0] * len(weights)
    if weight_sum == 0:
        raise ValueError("cannot allocate a positive total over zero weights")
    parts = [divmod(total * weight, weight_sum) for weight in weights]
    shares = [share for share, _ in parts]
    leftover = total - sum(shares)
    if leftover:
        # largest remainder first; a reversed sort stays stable: ties keep the lower index
        remainders = [remainder for _, remainder in parts]
        order = sorted(range(len(parts)), key=remainders.__getitem__, reverse=True)
        for index in order[:leftover]:
            shares[index] += 1
    return shares
