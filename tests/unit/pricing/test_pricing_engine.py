"""Engine and compiler behaviour: indexing, ordering, determinism, input errors, swap."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pricing_helpers import CATALOG, STORES, discounts, price, receipt, rules

from server.errors import DomainError
from server.pricing import (
    Product,
    Receipt,
    ReceiptLine,
    load_rule_set,
    price_receipt,
)
from server.pricing.index import index_clause

MANY_SKU_RULES = (
    "rules:\n"
    + "".join(
        f"  - {{id: sku-{i:03d}, target: [{{skus: [x{i}]}}],"
        f" benefit: {{type: percent, percent: 100}}}}\n"
        for i in range(200)
    )
    + "  - {id: global, benefit: {type: percent, percent: 100, scope: receipt}}\n"
    + "  - {id: bread, target: [{skus: [bread]}], benefit: {type: percent, percent: 100}}\n"
)


def test_only_candidate_rules_are_evaluated() -> None:
    rs = rules(MANY_SKU_RULES)
    result = price(rs, receipt(("bread", 1000, 2000), ("milk", 1000, 3000)))
    # 202 rules, but only "bread" (by SKU) and "global" can match this receipt
    assert result.rules_evaluated == 2
    # same (default) group, so they compete per line: "bread" (id before "global" at equal
    # priority) takes bread: 1% of 20.00 = 20; "global" gets the rest: 1% of 30.00 = 30
    assert discounts(result) == {1: [("bread", 20)], 2: [("global", 30)]}


def test_rule_is_indexed_by_its_most_selective_necessary_clause() -> None:
    doc = load_rule_set("""
rules:
  - {id: a, target: [{groups: [dairy]}, {skus: [bread]}], benefit: {type: percent, percent: 1}}
  - {id: b, target: [{groups: [dairy]}],
     conditions: {receipt_contains: [{match: [{skus: [wine]}]}], stores: [kyiv-1]},
     benefit: {type: percent, percent: 1}}
  - {id: c, conditions: {networks: [kyiv]}, benefit: {type: percent, percent: 1}}
  - {id: d, target: [{min_unit_price: 100}], benefit: {type: percent, percent: 1}}
""")
    keys = [index_clause(rule)[0] for rule in doc.rules]
    assert keys == [
        (("group", "dairy"), ("sku", "bread")),
        (("sku", "wine"),),
        (("network", "kyiv"),),
        (),
    ]


RULE_Z = "  - {id: z, group: late, benefit: {type: amount, amount: 100, scope: line}}\n"
RULE_B = (
    "  - {id: b, group: early, priority: 5, target: [{skus: [milk]}],"
    " benefit: {type: amount, amount: 10, scope: line}}\n"
)
RULE_A = (
    "  - {id: a, group: early, priority: 5, benefit: {type: amount, amount: 20, scope: line}}\n"
)


def test_rules_apply_in_group_order_then_priority_then_id() -> None:
    rs = rules(
        "groups: [{id: late, order: 2}, {id: early, order: 1}]\nrules:\n" + RULE_Z + RULE_B + RULE_A
    )
    result = price(rs, receipt(("milk", 1000, 3000)))
    # group "early" first; a and b tie on priority 5 -> "a" (lower id) takes the line
    assert discounts(result) == {1: [("a", 20), ("z", 100)]}
    # the order of rules and groups in the file changes neither the version nor the result
    rs2 = rules(
        "groups: [{id: early, order: 1}, {id: late, order: 2}]\nrules:\n" + RULE_A + RULE_B + RULE_Z
    )
    assert rs2.version == rs.version
    assert price(rs2, receipt(("milk", 1000, 3000))) == result


def test_same_input_same_output() -> None:
    rs = rules(MANY_SKU_RULES)
    rec = receipt(("bread", 1500, 1999), ("x7", 3000, 1234), ("x9", 1000, 1))
    assert price(rs, rec) == price(rs, rec)


def test_invalid_receipt_reports_every_bad_field() -> None:
    rs = rules("rules: []")
    rec = Receipt(
        "kyiv-1",
        receipt().time.replace(tzinfo=None),
        (ReceiptLine(1, "milk", 0, 100), ReceiptLine(1, "milk", 1000, -1)),
        bonus_points_to_pay=-5,
    )
    with pytest.raises(DomainError) as caught:
        price_receipt(rs, CATALOG, STORES, rec)
    assert caught.value.reason == "INVALID_RECEIPT"
    assert [v.field for v in caught.value.violations] == [
        "time",
        "bonus_points_to_pay",
        "lines[0].quantity_milli",
        "lines[1].unit_price",
        "lines[1].line_no",
    ]


def test_precomputed_line_attributes_and_unknown_skus() -> None:
    rs = rules(
        "rules: [{id: d, target: [{groups: [dairy]}], benefit: {type: percent, percent: '10%'}}]"
    )
    rec = Receipt(
        "nowhere",
        receipt().time,
        (
            ReceiptLine(1, "goat-milk", 1000, 5000, Product("goat-milk", group="dairy")),
            ReceiptLine(2, "mystery", 1000, 5000),
        ),
    )
    result = price_receipt(rs, CATALOG, STORES, rec)
    assert [line.discount_amount for line in result.lines] == [500, 0]


def test_messages_versions_and_promotions_are_reported() -> None:
    rs = rules("""
rules:
  - {id: a, promotion: spring, message: "Spring sale!", target: [{skus: [milk]}],
     benefit: {type: percent, percent: 100}}
  - {id: b, promotion: spring, message: "Spring sale!", target: [{skus: [bread]}],
     benefit: {type: percent, percent: 100}}
""")
    result = price(rs, receipt(("milk", 1000, 3000), ("bread", 1000, 2000)))
    assert result.messages == ("Spring sale!",)
    assert result.applied_promotions == ("spring",)
    assert result.rule_set_version == rs.version


def test_disabled_rules_are_not_compiled() -> None:
    # also: the id `off` stays a string (YAML 1.1 would make it False)
    rs = rules("rules: [{id: off, enabled: false, benefit: {type: percent, percent: 100}}]")
    assert rs.rules == () and price(rs, receipt(("milk", 1000, 3000))).discount_total == 0


def test_history_horizon_for_the_db_layer() -> None:
    rs = rules("""
rules:
  - id: a
    conditions:
      previous_purchases: [{period: quarter, match: {groups: [beer]}}]
      accumulated: [{period: 30, min_amount: 1}]
    boosts: [{when: {accumulated: [{period: 120, min_amount: 1}]}, multiplier_permille: 1500}]
    benefit: {type: percent, percent: 1}
""")
    assert rs.history_days == 120


def test_pricing_imports_no_transport_or_storage() -> None:
    forbidden = {"grpc", "sqlalchemy", "pluggy", "google", "asyncpg"}
    package = Path(__file__).resolve().parents[3] / "server" / "pricing"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{source.name} imports {name}"
                assert not name.endswith("_pb2"), f"{source.name} imports {name}"
