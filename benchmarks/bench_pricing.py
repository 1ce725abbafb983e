"""Pricing benchmark (a script, not a test): indexed engine vs a naive full scan.

Generates rule sets of 100, 1,000 and 10,000 active rules over a synthetic 50,000-SKU
catalog, prices 20-line receipts and prints receipts/s, p50 and p99 per size, the ratio
p50(10k)/p50(100) (target <= 1.5) and the speed-up over scanning every rule per line.

    /tmp/venv/bin/python benchmarks/bench_pricing.py [--receipts 2000]

Rule mix (typical chain: mostly per-SKU promo prices and multibuys, a few category rules):
94% SKU rules, 1% each subgroup / brand / supplier / group / store rules, plus 3 global
receipt rules. All rules are active (no date gating helps the index). Two scenarios:

- constant: the same 100 rules can hit the receipts at every size; the other rules are
  active but for goods and stores not on these receipts. This isolates what rule-set
  size costs the engine (the <= 1.5 target).
- uniform: every rule drawn over the whole catalog, so at 10k rules ~5x more rules
  really apply per receipt; the p50 growth there is real discount work, not lookup.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.pricing import (
    Catalog,
    CompiledRuleSet,
    Product,
    Receipt,
    ReceiptLine,
    Store,
    compile_rule_set,
    parse_rule_set,
    price_receipt,
)
from server.pricing.compiler import CompiledRule

N_SKUS, N_GROUPS, N_SUBGROUPS, N_BRANDS, N_SUPPLIERS = 50_000, 500, 5_000, 2_000, 1_000
N_STORES, N_NETWORKS, LINES = 200, 20, 20


@dataclass(frozen=True)
class Space:
    """Key ranges that rules and receipts draw from (start, stop)."""

    skus: tuple[int, int]
    subgroups: tuple[int, int]
    brands: tuple[int, int]
    suppliers: tuple[int, int]
    groups: tuple[int, int]
    stores: tuple[int, int]


FULL = Space((0, N_SKUS), (0, N_SUBGROUPS), (0, N_BRANDS), (0, N_SUPPLIERS), (0, N_GROUPS),
             (0, N_STORES))
HOT = Space((0, 2_000), (0, 200), (0, 100), (0, 50), (0, 20), (0, 10))
COLD = Space((2_000, N_SKUS), (200, N_SUBGROUPS), (100, N_BRANDS), (50, N_SUPPLIERS),
             (20, N_GROUPS), (10, N_STORES))


def _pick(rng: random.Random, span: tuple[int, int]) -> int:
    return rng.randrange(*span)


def make_catalog(rng: random.Random) -> Catalog:
    """Synthetic products with every attribute filled; SKUs of HOT only carry HOT keys."""
    products = []
    for i in range(N_SKUS):
        space = HOT if i < HOT.skus[1] else COLD
        subgroup = _pick(rng, space.subgroups)
        group_span = space.groups[1] - space.groups[0]
        products.append(
            Product(
                sku=f"s{i}",
                group=f"g{space.groups[0] + subgroup % group_span}",
                subgroup=f"sg{subgroup}",
                brand=f"b{_pick(rng, space.brands)}",
                supplier=f"p{_pick(rng, space.suppliers)}",
                price_category=f"c{rng.randrange(5)}",
            )
        )
    return Catalog.from_products(products)


def make_stores() -> dict[str, Store]:
    """Stores spread over networks."""
    return {f"st{i}": Store(f"st{i}", frozenset({f"n{i % N_NETWORKS}"})) for i in range(N_STORES)}


GLOBAL_RULES: list[dict] = [
    {"id": "global-gold", "group": "receipt", "conditions": {"card_types": ["gold"]},
     "benefit": {"type": "percent", "percent": 300, "scope": "receipt"}},
    {"id": "global-morning", "group": "receipt", "benefit": {"type": "percent", "percent": 100},
     "boosts": [{"when": {"time_windows": [{"start": "08:00", "end": "11:00"}]},
                 "multiplier_permille": 2000}]},
    {"id": "global-big", "group": "receipt", "conditions": {"min_receipt_amount": 500_000},
     "benefit": {"type": "amount", "amount": 5_000, "scope": "receipt"}},
]


def make_rules(count: int, rng: random.Random, space: Space, prefix: str) -> list[dict]:
    """`count` active rules in the documented mix, keys drawn from `space`."""
    rules: list[dict] = []
    kinds = (["sku"] * 94) + ["subgroup", "brand", "supplier", "group", "store"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        rule: dict = {"id": f"{prefix}{i:05d}", "priority": rng.randrange(100)}
        if kind == "sku":
            rule["target"] = [{"skus": [f"s{_pick(rng, space.skus)}"]}]
            rule["benefit"] = rng.choice([
                {"type": "percent", "percent": rng.randrange(100, 3000)},
                {"type": "fixed_price", "price": rng.randrange(1000, 20000)},
                {"type": "m_for_n", "buy": 3, "pay": 2},
            ])
        elif kind == "store":
            rule["conditions"] = {"stores": [f"st{_pick(rng, space.stores)}"]}
            rule["benefit"] = {"type": "percent", "percent": 200, "scope": "receipt"}
            rule["group"] = "receipt"
        else:
            field, span, key = {
                "subgroup": ("subgroups", space.subgroups, "sg"),
                "brand": ("brands", space.brands, "b"),
                "supplier": ("suppliers", space.suppliers, "p"),
                "group": ("groups", space.groups, "g"),
            }[kind]
            rule["target"] = [{field: [f"{key}{_pick(rng, span)}"]}]
            rule["benefit"] = {"type": "percent", "percent": rng.randrange(100, 1500)}
            rule["group"] = "category"
        rules.append(rule)
    return rules


def compile_rules(rules: list[dict]) -> CompiledRuleSet:
    """Wrap rules in a document and compile it."""
    document = {
        "groups": [{"id": "category", "order": 1, "resolution": "max_discount"},
                   {"id": "receipt", "order": 2}],
        "rules": rules,
    }
    return compile_rule_set(parse_rule_set(document))


def scenario_rules(scenario: str, size: int) -> CompiledRuleSet:
    """constant: the same 100 rules hit the receipts at every size, the other size - 100 are
    active but for other goods/stores; uniform: all rules drawn over the whole catalog."""
    if scenario == "constant":
        hot = GLOBAL_RULES + make_rules(97, random.Random(1), HOT, "h")
        return compile_rules(hot + make_rules(size - 100, random.Random(2), COLD, "c"))
    return compile_rules(GLOBAL_RULES + make_rules(size - 3, random.Random(3), FULL, "u"))


def make_receipts(count: int, rng: random.Random, space: Space) -> list[Receipt]:
    """20-line receipts at random stores and times, goods drawn from `space`."""
    zone = ZoneInfo("Europe/Kyiv")
    receipts = []
    for _ in range(count):
        lines = tuple(
            ReceiptLine(n, f"s{_pick(rng, space.skus)}", rng.choice([1000, 2000, 3000, 1234]),
                        rng.randrange(500, 50_000))
            for n in range(1, LINES + 1)
        )
        moment = datetime(2025, 3, 3, rng.randrange(7, 22), rng.randrange(60), tzinfo=zone)
        receipts.append(
            Receipt(f"st{_pick(rng, space.stores)}", moment, lines,
                    card_type=rng.choice([None, "gold", "silver"]))
        )
    return receipts


class NaiveRuleSet(CompiledRuleSet):
    """Baseline: no index; every rule's target is checked against every line."""

    __slots__ = ()

    def candidates(
        self, products: Sequence[Product], store: Store
    ) -> list[tuple[CompiledRule, set[int] | None]]:
        hits = {rule.ordinal for p in products for rule in self.rules if rule.target.matches(p, 0)}
        return [(self.rules[i], None) for i in sorted(hits)]


def naive(rule_set: CompiledRuleSet) -> NaiveRuleSet:
    """The same compiled rules behind the naive scan."""
    return NaiveRuleSet(**{f.name: getattr(rule_set, f.name) for f in fields(rule_set)})


def measure(
    rule_set: CompiledRuleSet, catalog: Catalog, stores: dict[str, Store], receipts: list[Receipt]
) -> dict[str, float]:
    """Latency percentiles (microseconds) and throughput over the receipts."""
    for rec in receipts[:50]:  # warm-up
        price_receipt(rule_set, catalog, stores, rec)
    samples = []
    evaluated = 0
    started = time.perf_counter()
    for rec in receipts:
        t0 = time.perf_counter_ns()
        result = price_receipt(rule_set, catalog, stores, rec)
        samples.append((time.perf_counter_ns() - t0) / 1000)
        evaluated += result.rules_evaluated
    elapsed = time.perf_counter() - started
    samples.sort()
    return {
        "rps": len(receipts) / elapsed,
        "p50": statistics.median(samples),
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "evaluated": evaluated / len(receipts),
    }


def main() -> None:
    """Run both scenarios at all sizes and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=2000)
    args = parser.parse_args()
    catalog, stores = make_catalog(random.Random(20250303)), make_stores()
    naive_counts = {100: 200, 1_000: 60, 10_000: 15}
    for scenario, space in (("constant", HOT), ("uniform", FULL)):
        receipts = make_receipts(args.receipts, random.Random(7), space)
        print(f"\nscenario {scenario}:")
        print(f"{'rules':>7} {'compile s':>9} {'rcpt/s':>8} {'p50 us':>8} {'p99 us':>8} "
              f"{'cand/rcpt':>9} {'naive p50 us':>12} {'speed-up':>8}")
        p50 = {}
        for size in (100, 1_000, 10_000):
            t0 = time.perf_counter()
            rule_set = scenario_rules(scenario, size)
            compile_s = time.perf_counter() - t0
            gc.collect()
            gc.freeze()  # long-lived rules out of the GC's way, as the server should do
            stats = measure(rule_set, catalog, stores, receipts)
            base = measure(naive(rule_set), catalog, stores, receipts[: naive_counts[size]])
            p50[size] = stats["p50"]
            print(f"{size:>7} {compile_s:>9.2f} {stats['rps']:>8.0f} {stats['p50']:>8.1f} "
                  f"{stats['p99']:>8.1f} {stats['evaluated']:>9.1f} {base['p50']:>12.1f} "
                  f"{base['p50'] / stats['p50']:>7.0f}x")
        ratio = p50[10_000] / p50[100]
        verdict = "OK" if ratio <= 1.5 else "above target"
        print(f"p50(10k)/p50(100) = {ratio:.2f} (target <= 1.5: {verdict})")


if __name__ == "__main__":
    main()
