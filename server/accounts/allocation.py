"""Largest-remainder allocation: split an integer over weights so the parts add up exactly."""

from __future__ import annotations


def allocate(total: int, weights: list[int]) -> list[int]:
    """Shares of `total` proportional to `weights`, summing to `total` exactly.

    floor shares first; leftover units go to the largest remainders, ties to the lower index,
    so the result is deterministic. All weights zero: everything goes to the first slot.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("total and weights must be >= 0")
    if not weights:
        if total:
            raise ValueError("cannot allocate over no weights")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1)
    shares: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, weight_sum)
        shares.append(share)
        remainders.append((-remainder, index))
    for _, index in sorted(remainders)[: total - sum(shares)]:
        shares[index] += 1
    return shares
