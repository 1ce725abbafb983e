"""Scenarios ported from well-known promotion engines (multibuy, bundle price, caps)."""

from __future__ import annotations

from pricing_helpers import discounts, price, receipt, rules


def test_multibuy_three_for_two_cheapest_free_across_lines() -> None:
    rs = rules("""
rules:
  - {id: juice-3for2, target: [{groups: [juice]}], benefit: {type: m_for_n, buy: 3, pay: 2}}
""")
    # 6 units pooled -> 2 free, the cheapest: juice-b 20.00, then one juice-c unit 25.00
    # (juice-c line 75.00 / 3 units = 25.00); juice-a (30.00) pays in full.
    result = price(
        rs, receipt(("juice-a", 2000, 3000), ("juice-b", 1000, 2000), ("juice-c", 3000, 2500))
    )
    assert discounts(result) == {2: [("juice-3for2", 2000)], 3: [("juice-3for2", 2500)]}
    assert result.total == 6000 + 0 + 5000


def test_multibuy_weighed_goods_do_not_count() -> None:
    rs = rules(
        "rules: [{id: m, target: [{skus: [apples]}], benefit: {type: m_for_n, buy: 2, pay: 1}}]"
    )
    assert price(rs, receipt(("apples", 2500, 4000))).discount_total == 0


def test_fixed_price_for_a_set_of_three() -> None:
    rs = rules("""
rules:
  - {id: juice-3-for-99, target: [{groups: [juice]}],
     benefit: {type: bundle_price, quantity: 3, price: 9900}}
""")
    # 4 units -> 1 bundle from the dearest units: 2 x juice-a 45.00 + 1 x juice-c 40.00 = 130.00
    # discount 31.00 split 90.00 : 40.00 -> 2146.15 / 953.85 -> 2146 / 954 (largest remainder)
    result = price(rs, receipt(("juice-a", 2000, 4500), ("juice-c", 2000, 4000)))
    assert discounts(result) == {1: [("juice-3-for-99", 2146)], 2: [("juice-3-for-99", 954)]}
    assert result.total == 9900 + 4000  # the bundle costs 99.00, the 4th unit full price
    assert result.lines[0].discounts[0].reason == "3 for 99.00: 2 unit(s) of SKU juice-a"


def test_bundle_price_higher_than_items_gives_nothing() -> None:
    rs = rules(
        "rules: [{id: b, target: [{groups: [juice]}],"
        " benefit: {type: bundle_price, quantity: 2, price: 9900}}]"
    )
    assert price(rs, receipt(("juice-a", 2000, 3000))).discount_total == 0


def test_capped_absolute_discount_split_across_lines() -> None:
    rs = rules("""
rules:
  - {id: dairy-20-max-10, target: [{groups: [dairy]}], max_discount: 1000,
     benefit: {type: percent, percent: "20%"}}
""")
    # uncapped 20%: milk 1200 + cheese 800 = 2000 > 10.00 -> 1000 split 1200:800 = 600 / 400
    result = price(rs, receipt(("milk", 2000, 3000), ("cheese", 1000, 4000)))
    assert discounts(result) == {1: [("dairy-20-max-10", 600)], 2: [("dairy-20-max-10", 400)]}
    assert result.lines[0].discounts[0].reason.endswith("(rule capped at 10.00)")


def test_receipt_amount_larger_than_receipt_is_capped_at_zero_total() -> None:
    rs = rules("rules: [{id: big, benefit: {type: amount, amount: 100000, scope: receipt}}]")
    result = price(rs, receipt(("bread", 1000, 2000), ("milk", 1000, 3000)))
    assert result.total == 0 and [line.final_amount for line in result.lines] == [0, 0]
