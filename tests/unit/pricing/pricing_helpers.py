"""Builders shared by the pricing tests: rule sets from YAML, receipts from tuples."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from server.pricing import (
    Catalog,
    CompiledRuleSet,
    MemberContext,
    PricingResult,
    Product,
    Receipt,
    ReceiptLine,
    Store,
    compile_rule_set,
    load_rule_set,
    price_receipt,
)

KYIV = ZoneInfo("Europe/Kyiv")
# Monday 2025-03-03 15:00 local: afternoon, no morning boosts.
MONDAY_AFTERNOON = datetime(2025, 3, 3, 15, 0, tzinfo=KYIV)

CATALOG = Catalog.from_products(
    [
        Product("milk", group="dairy", subgroup="milk", brand="Galychyna", supplier="gal"),
        Product("kefir", group="dairy", subgroup="kefir", brand="Galychyna", supplier="gal"),
        Product("cheese", group="dairy", subgroup="cheese", brand="Komo", supplier="komo"),
        Product("juice-a", group="juice", brand="Sandora", supplier="pepsico"),
        Product("juice-b", group="juice", brand="Sandora", supplier="pepsico"),
        Product("juice-c", group="juice", brand="Rich", supplier="coke"),
        Product("beer", group="beer", brand="Obolon", supplier="obolon"),
        Product("chips", group="snacks", brand="Lays", supplier="pepsico"),
        Product("nuts", group="snacks", brand="Kozacka", supplier="kozacka"),
        Product("wine", group="wine", brand="Shabo", supplier="shabo", price_category="premium"),
        Product("bread", group="bakery", supplier="kyivkhlib"),
        Product("apples", group="fruit", supplier="farm"),
    ]
)

STORES = {
    "kyiv-1": Store("kyiv-1", frozenset({"kyiv", "own"})),
    "kyiv-2": Store("kyiv-2", frozenset({"kyiv", "own"})),
    "lviv-1": Store("lviv-1", frozenset({"lviv", "franchise"})),
}


def rules(text: str) -> CompiledRuleSet:
    """Compile a YAML rule set."""
    return compile_rule_set(load_rule_set(text))


def receipt(
    *lines: tuple[str, int, int],
    store: str = "kyiv-1",
    time: datetime = MONDAY_AFTERNOON,
    card: str | None = None,
    member: MemberContext | None = None,
    points: int = 0,
) -> Receipt:
    """Lines as (sku, quantity_milli, unit_price); numbered from 1."""
    return Receipt(
        store_id=store,
        time=time,
        lines=tuple(ReceiptLine(i, sku, q, p) for i, (sku, q, p) in enumerate(lines, start=1)),
        card_type=card,
        member=member,
        bonus_points_to_pay=points,
    )


def price(rule_set: CompiledRuleSet, rec: Receipt) -> PricingResult:
    """Price against the shared catalog and stores, checking the result invariants."""
    result = price_receipt(rule_set, CATALOG, STORES, rec)
    assert_invariants(result)
    return result


def assert_invariants(result: PricingResult) -> None:
    """sum(final) == total, no line below zero, discounts per line <= base."""
    assert sum(line.final_amount for line in result.lines) == result.total
    assert result.subtotal - result.discount_total == result.total
    for line in result.lines:
        assert line.final_amount >= 0
        assert sum(d.amount for d in line.discounts) == line.base_amount - line.final_amount
        assert all(d.amount > 0 for d in line.discounts)


def discounts(result: PricingResult) -> dict[int, list[tuple[str, int]]]:
    """line_no -> [(rule_id, amount)], only lines with discounts."""
    return {
        line.line_no: [(d.rule_id, d.amount) for d in line.discounts]
        for line in result.lines
        if line.discounts
    }
