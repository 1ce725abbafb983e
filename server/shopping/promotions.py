"""Which promotions of the active rule set a wished product is on (for wishlist hits).

A product is "on promotion" when an enabled rule, valid at the time, targets it by its own
attributes (SKU, group, subgroup, brand, supplier, price category). Rules that target every
line (receipt-wide discounts) or select by unit price (unknown for a wish) are left out:
they are not about this product. Store, card and history conditions are not checked: the
promotion exists for the product somewhere, which is what a wishlist mailing says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.pricing.compiler import CompiledRule, CompiledRuleSet
from server.pricing.model import Product


@dataclass(frozen=True, slots=True)
class ProductPromotion:
    """A rule that puts a product on promotion; `occurrence` names this run of it."""

    promotion_id: str
    rule_id: str
    reason: str
    occurrence: str


def _valid(rule: CompiledRule, now: dt.datetime) -> bool:
    return (rule.valid_from is None or rule.valid_from <= now) and \
        (rule.valid_to is None or now < rule.valid_to)


def promotions_of(rules: CompiledRuleSet, product: Product, now: dt.datetime
                  ) -> list[ProductPromotion]:
    """The promotions `product` is on at `now`, one per promotion id (first rule wins).

    The occurrence is the promotion id with the start of its validity: the same promotion
    re-applied in a new rule set is the same occurrence, a new run of it is a new one."""
    found: dict[str, ProductPromotion] = {}
    for rule in rules.rules:
        target = rule.target
        if target.selects_all or not target.include or target.uses_price:
            continue
        if not _valid(rule, now) or not target.matches(product, 0):
            continue
        promotion = rule.rule.promotion_id
        if promotion in found:
            continue
        start = "" if rule.valid_from is None else rule.valid_from.isoformat()
        found[promotion] = ProductPromotion(
            promotion, rule.rule.id, rule.rule.message or rule.rule.display_name,
            f"promotion:{promotion}@{start}"[:160])
    return list(found.values())
