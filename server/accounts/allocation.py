"""Largest-remainder allocation for the ledger: the pricing engine's, plus what the ledger
needs when every weight is zero (a receipt of free lines still gets its points somewhere)."""

from __future__ import annotations

from server.pricing.allocation import allocate_largest_remainder


def allocate(total: int, weights: list[int]) -> list[int]:
    """Shares of `total` proportional to `weights`, summing to `total` exactly (largest
    remainders first, ties to the lower index). All weights zero: everything goes to the
    first slot."""
    if weights and total >= 0 and not any(weights):
        return [total] + [0] * (len(weights) - 1)
    return allocate_largest_remainder(total, weights)
