"""Which promotions a wished product is on: the index-backed lookup agrees with testing
every rule, and leaves out receipt-wide, price-bound, expired and future rules."""

from __future__ import annotations

import datetime as dt

from server.pricing import Product, compile_rule_set, load_rule_set
from server.shopping.promotions import PromotionLookup

RULES = """
schema_version: 1
name: lookup
settings: {currency: UAH, timezone: Europe/Kyiv}
rules:
  - {id: dairy, promotion: dairy-week, target: [{groups: [dairy]}],
     exclude: [{skus: [dairy-09]}], benefit: {type: percent, percent: "10%"}}
  - {id: dairy-too, promotion: dairy-week, target: [{skus: [dairy-01]}],
     benefit: {type: percent, percent: "5%"}}
  - {id: brand, name: Brand X days, target: [{brands: [X]}],
     benefit: {type: percent, percent: "7%"}}
  - {id: everything, benefit: {type: percent, percent: "3%"}}
  - {id: cheap-only, target: [{groups: [dairy], max_unit_price: 1000}],
     benefit: {type: percent, percent: "9%"}}
  - {id: over, validity: {end: 2020-01-01}, target: [{groups: [dairy]}],
     benefit: {type: percent, percent: "9%"}}
  - {id: later, validity: {start: 2099-01-01}, target: [{groups: [dairy]}],
     benefit: {type: percent, percent: "9%"}}
  - {id: with-beer, target: [{groups: [snacks]}],
     conditions: {receipt_contains: [{match: [{skus: [beer-1]}]}], stores: [s1]},
     benefit: {type: percent, percent: "20%"}}
"""

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
PRODUCTS = [Product("dairy-01", group="dairy"), Product("dairy-09", group="dairy", brand="X"),
            Product("chips-1", group="snacks"), Product("tea-1", group="tea"),
            Product("other", brand="Y")]


def brute_force(rules, product):  # type: ignore[no-untyped-def]
    found = {}
    for rule in rules.rules:
        t = rule.target
        if not t.include or t.uses_price or not t.matches(product, 0):
            continue
        if (rule.valid_from and rule.valid_from > NOW) or (rule.valid_to and rule.valid_to <= NOW):
            continue
        found.setdefault(rule.rule.promotion_id, rule.rule.id)
    return found


def test_the_lookup_finds_what_testing_every_rule_finds():
    rules = compile_rule_set(load_rule_set(RULES, "yaml"))
    lookup = PromotionLookup(rules, NOW)
    got = {p.sku: {x.promotion_id: x.rule_id for x in lookup.of(p)} for p in PRODUCTS}
    assert got == {p.sku: brute_force(rules, p) for p in PRODUCTS}
    assert got == {"dairy-01": {"dairy-week": "dairy"}, "dairy-09": {"brand": "brand"},
                   "chips-1": {"with-beer": "with-beer"}, "tea-1": {}, "other": {}}


def test_the_occurrence_names_the_promotion_and_its_start():
    rules = compile_rule_set(load_rule_set(RULES.replace(
        "{id: brand, name", "{id: brand, validity: {start: 2026-11-01}, name"), "yaml"))
    (hit,) = PromotionLookup(rules, NOW).of(Product("x-1", brand="X"))
    assert hit.reason == "Brand X days"
    assert hit.occurrence.startswith("promotion:brand@2026-11-01T00:00:00")
    (plain,) = PromotionLookup(rules, NOW).of(Product("dairy-01", group="dairy"))
    assert plain.occurrence == "promotion:dairy-week@"
