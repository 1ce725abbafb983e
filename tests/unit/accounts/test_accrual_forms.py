"""Issue 18 bonus-rule forms: points per unit, points written as a marketer says them,
exclusions (SKUs, groups, brands, delivery lines), plain error messages for both rule files."""

from __future__ import annotations

import datetime as dt

import pytest

from server.accounts.accrual import AccrualFacts, FactLine, compile_rules, compute_accrual
from server.accounts.rules_loader import load_accrual_rules
from server.errors import DomainError
from server.pricing import RuleSetError, load_rule_set

WHEN = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)
LINES = (
    FactLine(1, "milk", "dairy", "Galychyna", 10_000, 2000),
    FactLine(2, "apples", "fruit", "Farm", 5_000, 1500),
    FactLine(3, "ship", "delivery", "", 7_000, 1000),
    FactLine(4, "wine", "wine", "Shabo", 20_000, 1000),
)


def points(document: str, card: str = "silver") -> dict[str, int]:
    rules = compile_rules(load_accrual_rules("version: t\n" + document))
    accrual = compute_accrual(rules, AccrualFacts(card, "S1", frozenset(), WHEN, LINES))
    return {lot.rule_id: lot.points for lot in accrual.lots} | {"total": accrual.total}


def test_points_per_unit_count_pieces_and_kilograms() -> None:
    # 2 pieces + 1.5 kg + 1 + 1 = 5.5 units x 3 points, floored once: 16
    assert points("rules: [{id: u, award: {points_per_unit: 3}}]")["total"] == 16


def test_points_per_amount_as_a_marketer_writes_them() -> None:
    # 5 points per 100.00 on 420.00 = 21; gold: 10 per 100.00 = 42; the same as percent_bp 5
    doc = 'rules: [{id: p, award: {points: 5, per: "100.00", card_type_points: {gold: 10}}}]'
    assert points(doc)["total"] == 21
    assert points(doc, card="gold")["total"] == 42
    assert points("rules: [{id: bp, award: {percent_bp: 5}}]")["total"] == 21
    # default per: 1.00 -> 1 point per hryvnia on 420.00
    assert points("rules: [{id: p, award: {points: 1}}]")["total"] == 420


def test_exclusions_skip_skus_groups_brands_and_delivery_lines() -> None:
    doc = """
delivery: {groups: [delivery]}
rules:
  - {id: all, award: {points: 1}, exclude: {delivery: true, brands: [Shabo]}}
  - {id: no-milk, award: {points: 1}, exclude: {skus: [milk], groups: [fruit]}}
"""
    got = points(doc)
    assert got["all"] == 150            # milk 100.00 + apples 50.00
    assert got["no-milk"] == 270        # delivery 70.00 + wine 200.00


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ("rules: [{id: a, award: {points: -1}}]", "rules[0].award.points", "must be >= 0"),
        ("rules: [{id: a, award: {points: 1, per: 'ten'}}]", "rules[0].award.per",
         "must be an amount like '100.00' or minor units like 10000"),
        ("rules: [{id: 'a b', award: {points: 1}}]", "rules[0].id",
         "must be 1-64 letters, digits or _ . : -"),
        ("combination: best\nrules: []", "combination", "must be one of: maximum, sum, priority"),
        ("rules: [{id: a, award: {points: 1, fixed_points: 2}}]", "rules[0].award",
         "give exactly one of: points (with per), percent_bp/card_type_bp, points_per_unit, "
         "fixed_points"),
        ("rules: [{id: a, award: {points: x}}]", "rules[0].award.points", "must be a whole number"),
    ],
)
def test_bonus_rule_errors_are_a_path_and_a_plain_reason(document: str, path: str,
                                                        message: str) -> None:
    with pytest.raises(DomainError) as caught:
        load_accrual_rules("version: t\n" + document)
    assert [(v.field, v.description) for v in caught.value.violations] == [(path, message)]


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ("groups: [{id: g, resolution: best}]", "groups[0].resolution",
         "must be one of: priority, max_discount"),
        ("rules: [{id: 'bad id', benefit: {type: percent, percent: 5}}]", "rules[0].id",
         "must be 1-64 letters, digits or _ . : - (starting with a letter or digit)"),
        ("rules: [{id: r, exclusive: maybe, benefit: {type: percent, percent: 5}}]",
         "rules[0].exclusive", "must be true or false"),
        ("rules: [{id: r, target: {skus: [a]}, benefit: {type: percent, percent: 5}}]",
         "rules[0].target", "must be a list"),
        ("settings: {currency: uah}", "settings.currency",
         "must be a three-letter currency code (UAH)"),
    ],
)
def test_promotion_rule_errors_are_a_path_and_a_plain_reason(document: str, path: str,
                                                            message: str) -> None:
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(document)
    assert caught.value.errors == [(path, message)]


def test_rewards_catalogue_offers_what_the_balance_pays_for() -> None:
    from server.accounts.rewards import affordable

    rule_set = load_accrual_rules("""
version: r
rewards:
  - {id: a, points: 100, kind: coupon, coupon: A}
  - {id: b, points: 300, kind: product, sku: milk}
  - {id: c, points: 200, kind: discount, amount_minor: 500, card_types: [gold]}
""")
    assert [r.id for r in affordable(rule_set, "gold", 250)] == ["c", "a"]
    assert [r.id for r in affordable(rule_set, "silver", 1000)] == ["b", "a"]
    assert affordable(rule_set, "gold", 0) == []
    with pytest.raises(DomainError) as caught:
        load_accrual_rules("version: r\nrewards: [{id: a, points: 1, kind: product}]")
    assert [(v.field, v.description) for v in caught.value.violations] == [
        ("rewards[0]", "a product reward needs sku")]
