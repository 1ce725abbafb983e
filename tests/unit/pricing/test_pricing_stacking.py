"""Issue 18 forms: stacking per group (additive / compounding / competing), stages of groups
sharing an order, "at most N units get it", the `min_units` / `min_amount` shorthand."""

from __future__ import annotations

import pytest
from pricing_helpers import discounts, price, receipt, rules

from server.pricing import RuleSetError, load_rule_set

TWO_RATES = """
groups: [{{id: g, stacking: {stacking}}}]
rules:
  - {{id: dairy-15, group: g, target: [{{groups: [dairy]}}],
     benefit: {{type: percent, percent: "15%"}}}}
  - {{id: milk-5, group: g, target: [{{skus: [milk]}}], benefit: {{type: percent, percent: "5%"}}}}
"""


def test_additive_rates_add_up_and_are_rounded_once() -> None:
    rs = rules(TWO_RATES.format(stacking="additive"))
    # 20% of 10.01 = 2.002 -> 2.00, shared 15:5 -> 1.50 + 0.50; kefir gets 15% only
    result = price(rs, receipt(("milk", 1000, 1001), ("kefir", 1000, 2000)))
    assert discounts(result) == {1: [("dairy-15", 150), ("milk-5", 50)], 2: [("dairy-15", 300)]}
    # separate rounding would differ: 15% of 0.03 -> 0, 5% -> 0, but 20% of 0.03 -> 0.01
    tiny = price(rs, receipt(("milk", 1000, 3)))
    assert tiny.discount_total == 1


def test_compounding_applies_each_rule_on_what_is_still_payable() -> None:
    rs = rules(TWO_RATES.format(stacking="compounding"))
    result = price(rs, receipt(("milk", 1000, 10000)))
    # 15% of 100.00 = 15.00, then 5% of 85.00 = 4.25
    assert discounts(result) == {1: [("dairy-15", 1500), ("milk-5", 425)]}


def test_competing_gives_a_line_one_rule_of_the_group() -> None:
    rs = rules(TWO_RATES.format(stacking="competing"))
    assert discounts(price(rs, receipt(("milk", 1000, 10000)))) == {1: [("dairy-15", 1500)]}


def test_additive_group_clips_the_sum_at_the_line_amount() -> None:
    rs = rules("""
groups: [{id: g, stacking: additive}]
rules:
  - {id: a, group: g, benefit: {type: amount, amount: 700, scope: line}}
  - {id: b, group: g, benefit: {type: percent, percent: "60%"}}
""")
    result = price(rs, receipt(("bread", 1000, 1000)))
    assert result.total == 0
    assert discounts(result) == {1: [("a", 700), ("b", 300)]}  # 6.00 asked, 3.00 left


STAGE = """
groups:
  - {{id: {first}, order: 5}}
  - {{id: {second}, order: 5}}
rules:
  - {{id: ten-off, group: {first}, benefit: {{type: amount, amount: 1000, scope: line}}}}
  - {{id: half, group: {second}, benefit: {{type: percent, percent: "50%"}}}}
"""


def test_groups_sharing_an_order_are_priced_on_the_same_amount_whatever_their_ids() -> None:
    rec = receipt(("bread", 1000, 4000))
    one = price(rules(STAGE.format(first="a", second="b")), rec)
    other = price(rules(STAGE.format(first="z", second="b")), rec)
    # 10.00 off and 50% of 40.00 (not of 30.00): 30.00 in total, in either naming
    assert one.discount_total == other.discount_total == 3000
    assert sorted(discounts(one)[1]) == sorted(discounts(other)[1]) == [
        ("half", 2000),
        ("ten-off", 1000),
    ]


def test_a_declared_sequence_compounds() -> None:
    rs = rules("""
groups: [{id: first, order: 1}, {id: then, order: 2}]
rules:
  - {id: ten-off, group: first, benefit: {type: amount, amount: 1000, scope: line}}
  - {id: half, group: then, benefit: {type: percent, percent: "50%"}}
""")
    assert discounts(price(rs, receipt(("bread", 1000, 4000)))) == {
        1: [("ten-off", 1000), ("half", 1500)]
    }


def test_at_most_n_units_get_a_percent_first_lines_first() -> None:
    rs = rules("""
rules:
  - {id: juice-2, target: [{groups: [juice]}],
     benefit: {type: percent, percent: "50%", max_units: 3}}
""")
    result = price(rs, receipt(("juice-a", 2000, 4000), ("juice-b", 5000, 3000)))
    # 2 units of line 1 (80.00 -> 40.00 off) and 1 of 5 units of line 2 (30.00 -> 15.00 off)
    assert discounts(result) == {1: [("juice-2", 4000)], 2: [("juice-2", 1500)]}
    reason = result.lines[1].discounts[0].reason
    assert "1 of 5 unit(s)" in reason and "at most 3" in reason


def test_at_most_n_units_get_a_promo_price_or_an_amount_per_unit() -> None:
    fixed = rules("""
rules:
  - {id: milk-19, target: [{skus: [milk]}],
     benefit: {type: fixed_price, price: 1900, max_units: 2}}
""")
    # 5 x 30.00; 2 at 19.00: 22.00 off
    assert price(fixed, receipt(("milk", 5000, 3000))).discount_total == 2200
    per_unit = rules("""
rules:
  - {id: apples, target: [{skus: [apples]}],
     benefit: {type: amount, amount: 500, scope: unit, max_units: 2}}
""")
    # 3.5 kg: 2 kg get 5.00 per kg off
    assert price(per_unit, receipt(("apples", 3500, 4000))).discount_total == 1000


def test_min_units_and_min_amount_of_the_target_lines() -> None:
    rs = rules("""
rules:
  - {id: three-juices, target: [{groups: [juice]}], conditions: {min_units: 3},
     benefit: {type: percent, percent: "10%"}}
  - {id: beer-100, target: [{skus: [beer]}], conditions: {min_amount: 10000},
     benefit: {type: amount, amount: 1000}}
""")
    assert price(rs, receipt(("juice-a", 2000, 1000), ("beer", 2000, 4000))).discount_total == 0
    result = price(rs, receipt(("juice-a", 2000, 1000), ("juice-c", 1000, 1000),
                               ("beer", 3000, 4000)))
    assert discounts(result) == {
        1: [("three-juices", 200)], 2: [("three-juices", 100)], 3: [("beer-100", 1000)]
    }


def test_min_units_in_a_boost() -> None:
    rs = rules("""
rules:
  - id: juice
    target: [{groups: [juice]}]
    benefit: {type: percent, percent: "5%"}
    boosts: [{name: six-pack, when: {min_units: 6}, multiplier_permille: 2000}]
""")
    assert price(rs, receipt(("juice-a", 5000, 1000))).discount_total == 250
    assert price(rs, receipt(("juice-a", 6000, 1000))).discount_total == 600


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("groups: [{id: g, stacking: additive, resolution: max_discount}]",
         "groups[0].resolution"),
        ("groups: [{id: g, stacking: sideways}]", "groups[0].stacking"),
        ("rules: [{id: r, benefit: {type: percent, percent: 5, scope: receipt, max_units: 2}}]",
         "rules[0].benefit.max_units"),
        ("rules: [{id: r, benefit: {type: amount, amount: 5, max_units: 2}}]",
         "rules[0].benefit.max_units"),
        ("rules: [{id: r, conditions: {min_units: 0}, benefit: {type: percent, percent: 5}}]",
         "rules[0].conditions.min_units"),
    ],
)
def test_bad_new_forms_name_their_field(text: str, path: str) -> None:
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(text)
    assert [p for p, _ in caught.value.errors] == [path]
