"""Hints: receipts that nearly qualify say so, with the rule id, in the cashier messages."""

from __future__ import annotations

from pricing_helpers import price, receipt, rules

HINTED = """
rules:
  - {id: juice-4-for-3, name: Juice 4 for 3, target: [{groups: [juice]}],
     benefit: {type: m_for_n, buy: 4, pay: 3}}
  - {id: big-basket, name: Big basket, conditions: {min_receipt_amount: 50000},
     benefit: {type: percent, percent: "10%", scope: receipt}}
  - {id: gold-beer, target: [{skus: [beer]}], conditions: {card_types: [gold], min_units: 3},
     benefit: {type: fixed_price, price: 1000, max_units: 1}}
"""


def test_one_more_unit_and_one_is_free() -> None:
    result = price(rules(HINTED), receipt(("juice-a", 2000, 1000), ("juice-b", 1000, 1000)))
    assert [(h.rule_id, h.missing_quantity_milli) for h in result.hints] == [
        ("juice-4-for-3", 1000)
    ]
    text = "One more unit and 1 is free (4 for 3): Juice 4 for 3 (rule juice-4-for-3)"
    assert result.hints[0].message == text and text in result.messages
    # 4 units: it applies and no hint; 7 units: one more makes the second application
    assert price(rules(HINTED), receipt(("juice-a", 4000, 1000))).hints == ()
    assert len(price(rules(HINTED), receipt(("juice-a", 7000, 1000))).hints) == 1


def test_spend_more_within_a_quarter_of_the_threshold() -> None:
    result = price(rules(HINTED), receipt(("wine", 1000, 38000)))
    assert [(h.rule_id, h.missing_amount) for h in result.hints] == [("big-basket", 12000)]
    assert result.messages == ("Spend 120.00 more for 10% off: Big basket (rule big-basket)",)
    assert price(rules(HINTED), receipt(("wine", 1000, 30000))).hints == ()  # 40% missing


def test_units_hint_needs_the_other_conditions_to_hold() -> None:
    two_beers = receipt(("beer", 2000, 4000), card="gold")
    assert [h.message for h in price(rules(HINTED), two_beers).hints] == [
        "1 unit more for promo price 10.00: gold-beer (rule gold-beer)"
    ]
    assert price(rules(HINTED), receipt(("beer", 2000, 4000), card="silver")).hints == ()


def test_hints_can_be_turned_off_and_cost_nothing_without_hinted_rules() -> None:
    off = rules("settings: {hints: false}\n" + HINTED)
    assert off.hints_within_bp == 0
    assert price(off, receipt(("wine", 1000, 38000))).hints == ()
    plain = rules("rules: [{id: p, benefit: {type: percent, percent: 5}}]")
    assert plain.hints_within_bp == 0
    assert rules(HINTED).version != off.version
