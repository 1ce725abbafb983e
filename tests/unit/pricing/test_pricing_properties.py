"""Property tests: exact allocation, totals add up, no negative line, determinism, and the
index never changes a result compared with scanning every rule; over every stacking mode
(competing, additive, compounding, groups sharing an order), unit caps and the shorthand
conditions, and whatever order rules and groups are listed in."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from pricing_helpers import CATALOG, KYIV, STORES, assert_invariants

from server.pricing import (
    CompiledRuleSet,
    PricingResult,
    Receipt,
    ReceiptLine,
    allocate_largest_remainder,
    compile_rule_set,
    parse_rule_set,
    price_receipt,
)
from server.pricing.benefits import REASON_CODES
from server.pricing.index import RuleIndex
from server.pricing.money import div_round_half_up


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=30))
def test_allocation_is_exact_and_proportional(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        total = 0
    shares = allocate_largest_remainder(total, weights)
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        exact = total * weight / sum(weights) if sum(weights) else 0  # test-side float is fine
        assert abs(share - exact) < 1 + 1e-6
        if total <= sum(weights):
            assert 0 <= share <= weight
    assert allocate_largest_remainder(total, weights) == shares


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_round_half_up_matches_definition(numerator: int, denominator: int) -> None:
    rounded = div_round_half_up(numerator, denominator)
    twice = 2 * abs(numerator) - 2 * abs(rounded) * denominator  # 2 x (|n/d| - |r|) x d
    assert -denominator <= twice < denominator  # |n/d| - |r| in [-1/2, 1/2): half goes up


SKUS = sorted(CATALOG.products)
PERCENT = st.integers(1, 10_000)
SELECTOR = st.one_of(
    st.builds(lambda s: {"skus": [s]}, st.sampled_from(SKUS)),
    st.builds(lambda g: {"groups": [g]}, st.sampled_from(["dairy", "juice", "snacks", "beer"])),
    st.just({"brands": ["Sandora"]}),
    st.just({"min_unit_price": 2500}),
)
UNIT_CAP = st.one_of(st.just({}), st.builds(lambda n: {"max_units": n}, st.integers(1, 4)))
BENEFIT = st.one_of(
    st.builds(
        lambda p, s, cap: {"type": "percent", "percent": p, "scope": s}
        | (cap if s == "line" else {}),
        PERCENT,
        st.sampled_from(["line", "receipt"]),
        UNIT_CAP,
    ),
    st.builds(
        lambda a, s, cap: {"type": "amount", "amount": a, "scope": s}
        | (cap if s == "unit" else {}),
        st.integers(1, 50_000),
        st.sampled_from(["line", "receipt", "unit"]),
        UNIT_CAP,
    ),
    st.builds(
        lambda p, cap: {"type": "fixed_price", "price": p} | cap, st.integers(0, 50_000), UNIT_CAP
    ),
    st.builds(
        lambda b, d: {"type": "m_for_n", "buy": b, "pay": b - d},
        st.integers(2, 5),
        st.integers(1, 2),
    ),
    st.builds(
        lambda q, p: {"type": "bundle_price", "quantity": q, "price": p},
        st.integers(2, 4),
        st.integers(0, 20_000),
    ),
    st.builds(
        lambda t, p, q, r: {
            "type": "set",
            "trigger": {"match": [t], "quantity_milli": p},
            "reward": {"quantity_milli": q, "percent": r},
        },
        SELECTOR,
        st.integers(1, 3).map(lambda n: n * 1000),
        st.integers(500, 2000),
        PERCENT,
    ),
)
RULE = st.fixed_dictionaries(
    {
        "target": st.lists(SELECTOR, max_size=2),
        "benefit": BENEFIT,
        "priority": st.integers(0, 3),
        "group": st.sampled_from(["default", "g1", "g2"]),
        "exclusive": st.booleans(),
    },
    optional={
        "max_discount": st.integers(1, 20_000),
        "conditions": st.sampled_from(
            [
                {"receipt_contains": [{"match": [{"groups": ["beer"]}]}]},
                {"stores": ["kyiv-1"]},
                {"networks": ["lviv"]},
                {"card_types": ["gold"]},
                {"time_windows": [{"start": "08:00", "end": "12:00"}]},
                {"min_units": 3},
                {"min_amount": 10_000},
            ]
        ),
        "boosts": st.just([{"when": {"weekdays": [1, 3]}, "multiplier_permille": 2000}]),
    },
)
STACKING = st.sampled_from(
    [{"resolution": "priority"}, {"resolution": "max_discount"}, {"stacking": "additive"},
     {"stacking": "compounding"}]
)
DOCUMENT = st.builds(
    lambda rules, stacking1, stacking2, second_order: {
        "settings": {"bonus": {"max_redeem_share_bp": 3000, "accrual_bp": {"gold": 700}}},
        "groups": [
            {"id": "g1", "order": 1, **stacking1},
            {"id": "g2", "order": second_order, **stacking2},  # order 1: one stage with g1
        ],
        "rules": [dict(rule, id=f"r{i}") for i, rule in enumerate(rules)],
    },
    st.lists(RULE, max_size=8),
    STACKING,
    STACKING,
    st.sampled_from([1, 2]),
)
LINE = st.tuples(
    st.sampled_from(SKUS),
    st.one_of(st.integers(1, 6).map(lambda n: n * 1000), st.integers(1, 5000)),
    st.integers(0, 100_000),
)
RECEIPT = st.builds(
    lambda lines, store, hours, card, points: Receipt(
        store,
        datetime(2025, 3, 3, tzinfo=KYIV) + timedelta(hours=hours),
        tuple(ReceiptLine(i, sku, q, p) for i, (sku, q, p) in enumerate(lines, start=1)),
        card_type=card,
        bonus_points_to_pay=points,
    ),
    st.lists(LINE, min_size=1, max_size=8),
    st.sampled_from(sorted(STORES)),
    st.integers(0, 72),
    st.sampled_from([None, "gold", "silver"]),
    st.integers(0, 100_000),
)


@settings(max_examples=300, deadline=None)
@given(DOCUMENT, RECEIPT)
def test_engine_invariants_determinism_and_index_equivalence(document: dict, rec: Receipt) -> None:
    rule_set = compile_rule_set(parse_rule_set(document))
    result = price_receipt(rule_set, CATALOG, STORES, rec)
    assert_invariants(result)
    assert result.bonus_discount <= result.max_points_redeemable
    assert price_receipt(rule_set, CATALOG, STORES, rec) == result
    scan_all = dataclasses.replace(rule_set, index=RuleIndex({}, tuple(range(len(rule_set.rules)))))
    naive = price_receipt(scan_all, CATALOG, STORES, rec)
    assert dataclasses.replace(naive, rules_evaluated=result.rules_evaluated) == result
    shuffled = dict(
        document,
        rules=list(reversed(document["rules"])),
        groups=list(reversed(document["groups"])),
    )
    assert price_receipt(compile_rule_set(parse_rule_set(shuffled)), CATALOG, STORES, rec) == result
    assert_compact_is_unexplained(rule_set, rec, result)


def assert_compact_is_unexplained(rule_set: CompiledRuleSet, rec: Receipt,
                                  result: PricingResult) -> None:
    """Without `explain` the very same result, only every reason text empty; every discount's
    rule has a reason code."""
    compact = price_receipt(rule_set, CATALOG, STORES, dataclasses.replace(rec, explain=False))
    blank = dataclasses.replace(result, lines=tuple(
        dataclasses.replace(line, discounts=tuple(
            dataclasses.replace(d, reason="") for d in line.discounts))
        for line in result.lines))
    assert compact == blank
    for line in result.lines:
        for d in line.discounts:
            assert d.reason and rule_set.reason_codes[d.rule_id] in REASON_CODES


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), RECEIPT)
def test_a_unit_cap_discounts_exactly_the_first_n_units(cap: int, rec: Receipt) -> None:
    document = {"rules": [{"id": "all-free", "benefit": {
        "type": "percent", "percent": "100%", "max_units": cap}}]}
    result = price_receipt(compile_rule_set(parse_rule_set(document)), CATALOG, STORES,
                           dataclasses.replace(rec, bonus_points_to_pay=0))
    assert_invariants(result)
    left, expected = cap * 1000, 0
    for line in sorted(rec.lines, key=lambda x: x.line_no):
        if line.base_amount == 0:
            continue  # nothing payable: the cap goes to the next units
        take = min(left, line.quantity_milli)
        left -= take
        # the covered share of the line amount, rounded half up once
        expected += div_round_half_up(line.base_amount * take, line.quantity_milli)
    assert result.discount_total == expected
