"""The per-product candidate memo: same answers as the plain index, no leaks, bounded."""

from __future__ import annotations

import dataclasses

from pricing_helpers import CATALOG, STORES, discounts, price, receipt, rules

from server.pricing import Catalog, Product, Receipt, ReceiptLine, Store, price_receipt
from server.pricing import candidates as candidates_module
from server.pricing.candidates import StoreGate
from server.pricing.engine import _line_states
from server.pricing.index import RuleIndex

RULES = """
groups: [{id: b, order: 2}, {id: c, order: 3}]
rules:
  - {id: dairy, target: [{groups: [dairy]}], benefit: {type: percent, percent: "10%"}}
  - {id: dear-milk, group: b, target: [{skus: [milk], min_unit_price: 2500}],
     benefit: {type: amount, amount: 100, scope: line}}
  - {id: no-kefir, group: c, target: [{groups: [dairy]}], exclude: [{skus: [kefir]}],
     benefit: {type: amount, amount: 7, scope: line}}
  - {id: with-beer, target: [{groups: [juice]}],
     conditions: {receipt_contains: [{match: [{skus: [beer]}]}]},
     benefit: {type: percent, percent: "5%"}}
  - {id: kyiv, conditions: {stores: [kyiv-1]}, target: [{brands: [Sandora]}],
     benefit: {type: amount, amount: 3, scope: line}}
"""


def test_memo_path_agrees_with_the_index_lookup() -> None:
    rs = rules(RULES)
    rec = receipt(
        ("milk", 1000, 3000),
        ("milk", 1000, 2000),
        ("kefir", 1000, 1000),
        ("juice-a", 1000, 1000),
        ("beer", 1000, 1000),
        ("bread", 1000, 1000),
    )
    products = [CATALOG.resolve(line) for line in rec.lines]
    for _ in range(2):  # cold, then from the memo
        expected = rs.candidates(products, STORES["kyiv-1"])
        states, _ = _line_states(CATALOG, rec)
        found = rs.finder.find(states, [True] * len(states), STORES["kyiv-1"])
        assert found.evaluated == len(expected)
        selected = {
            rule.ordinal: (
                None
                if hint is None
                else [
                    i
                    for i in sorted(hint)
                    if rule.target.matches(products[i], rec.lines[i].unit_price)
                ]
            )
            for rule, hint in expected
        }
        assert dict(found.rules) == {o: lines for o, lines in selected.items() if lines != []}
    # store conditions are checked while collecting: still counted, no longer evaluated
    kyiv = next(rule.ordinal for rule in rs.rules if rule.rule.id == "kyiv")
    at_lviv = rs.finder.find(states, [True] * len(states), STORES["lviv-1"])
    assert kyiv in dict(found.rules) and kyiv not in dict(at_lviv.rules)
    assert at_lviv.evaluated == found.evaluated
    assert "kyiv" not in str(price(rs, dataclasses.replace(rec, store_id="lviv-1")))
    result = price(rs, rec)
    assert ("kyiv", 3) in discounts(result)[4]
    # dear-milk only takes the 30.00 milk (the unit price is checked per line, not memoized)
    assert ("dear-milk", 100) in discounts(result)[1]
    assert all(rule_id != "dear-milk" for rule_id, _ in discounts(result)[2])
    assert [rule_id for rule_id, _ in discounts(result)[3]] == ["dairy"]  # excluded
    assert [rule_id for rule_id, _ in discounts(result)[1]] == ["dairy", "dear-milk", "no-kefir"]


def test_memo_never_leaks_between_catalogs() -> None:
    rs = rules(RULES)
    as_dairy = Catalog.from_products([Product("x", group="dairy")])
    as_juice = Catalog.from_products([Product("x", group="juice")])
    rec = receipt(("x", 1000, 1000))
    for _ in range(2):
        dairy = price_receipt(rs, as_dairy, STORES, rec)
        juice = price_receipt(rs, as_juice, STORES, rec)
        assert [d.rule_id for d in dairy.lines[0].discounts] == ["dairy", "no-kefir"]
        assert juice.lines[0].discounts == ()  # no beer on the receipt, no Sandora


def test_line_products_are_priced_but_not_remembered() -> None:
    rs = rules(RULES)
    before = len(rs.finder)
    for group in ("dairy", "juice", "dairy"):
        rec = Receipt(
            "kyiv-1",
            receipt().time,
            (ReceiptLine(1, "own", 1000, 1000, Product("own", group=group)),),
        )
        result = price_receipt(rs, CATALOG, STORES, rec)
        assert bool(result.lines[0].discounts) == (group == "dairy")
    assert len(rs.finder) == before


def test_each_rule_set_and_copy_has_its_own_memo() -> None:
    a = rules(RULES)
    b = rules("rules: [{id: all, benefit: {type: amount, amount: 1, scope: line}}]")
    rec = receipt(("milk", 1000, 3000))
    assert a.finder is not b.finder
    assert [d.rule_id for d in price(a, rec).lines[0].discounts] == [
        "dairy",
        "dear-milk",
        "no-kefir",
    ]
    assert [d.rule_id for d in price(b, rec).lines[0].discounts] == ["all"]
    scan_all = dataclasses.replace(a, index=RuleIndex({}, tuple(range(len(a.rules)))))
    assert scan_all.finder is not a.finder
    assert price(scan_all, rec).lines == price(a, rec).lines


def test_memo_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(candidates_module, "MEMO_LIMIT", 5)
    rs = rules(RULES)
    catalog = Catalog.from_products(Product(f"p{i}", group="dairy") for i in range(12))
    for i in range(12):
        result = price_receipt(rs, catalog, STORES, receipt((f"p{i}", 1000, 1000)))
        assert [d.rule_id for d in result.lines[0].discounts] == ["dairy", "no-kefir"]
        assert len(rs.finder) <= 5


GATED = """
rules:
  - {id: kyiv-1-only, conditions: {stores: [kyiv-1]}, target: [{skus: [milk]}],
     benefit: {type: percent, percent: "1%"}}
  - {id: two-stores-in-own, conditions: {stores: [kyiv-1, lviv-1], networks: [own]},
     target: [{skus: [milk]}], benefit: {type: percent, percent: "1%"}}
  - {id: kyiv-net, conditions: {networks: [kyiv]}, target: [{skus: [milk]}],
     benefit: {type: percent, percent: "1%"}}
  - {id: not-kyiv-2, conditions: {exclude_stores: [kyiv-2]}, target: [{skus: [milk]}],
     benefit: {type: percent, percent: "1%"}}
  - {id: everywhere, target: [{skus: [milk]}], benefit: {type: percent, percent: "1%"}}
"""


def test_admitted_rules_per_store_are_exactly_those_whose_store_conditions_hold() -> None:
    rs = rules(GATED)
    unknown = Store("nowhere")
    for store in [*STORES.values(), unknown, Store("kyiv-1")]:  # same id, other networks
        expected = {
            rule.ordinal for rule in rs.rules
            if (gate := StoreGate.of(rule.rule.conditions)) is not None and gate.admits(store)
        }
        assert rs.finder.admitted(store) == expected
        assert rs.finder.admitted(store) is rs.finder.admitted(store)  # remembered
    at = {store: sorted(rs.rules[o].rule.id for o, _ in rs.finder.find(
        *_line_states(CATALOG, receipt(("milk", 1000, 1000))), STORES[store]).rules)
        for store in ("kyiv-1", "kyiv-2", "lviv-1")}
    assert at == {
        "kyiv-1": ["everywhere", "kyiv-1-only", "kyiv-net", "not-kyiv-2", "two-stores-in-own"],
        "kyiv-2": ["everywhere", "kyiv-net"],
        "lviv-1": ["everywhere", "not-kyiv-2"],
    }
