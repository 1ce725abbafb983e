"""Pricing hot-path metrics (bounded labels only)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PRICING_SECONDS = Histogram(
    "kopilka_pricing_seconds", "Time the pricing engine spends on one receipt, in seconds.",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)
RULES_EVALUATED = Counter(
    "kopilka_pricing_rules_evaluated", "Candidate promotion rules evaluated by the engine."
)
RECEIPT_LINES = Counter("kopilka_pricing_lines", "Receipt lines priced.")
DISCOUNTS_APPLIED = Counter(
    "kopilka_pricing_discounts_applied", "Line discounts granted by promotion rules."
)
