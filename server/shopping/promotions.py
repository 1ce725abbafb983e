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


def _about_products(rule: CompiledRule) -> bool:
    """A rule whose target names products by their attributes, at any unit price."""
    target = rule.target
    return bool(target.include) and not target.uses_price


class PromotionLookup:
    """The promotions of one rule set at one time, looked up per product through the
    pricing index (rules filed by their target), so a pass over many wished products
    does not test every rule against every product."""

    def __init__(self, rules: CompiledRuleSet, now: dt.datetime) -> None:
        self.rules = rules
        self.now = now
        keyed = rules.index.target_keyed
        # the few product rules filed under another clause (receipt_contains, a store)
        self._loose = tuple(r for r in rules.rules if r.ordinal not in keyed
                            and _about_products(r) and _valid(r, now))

    def of(self, product: Product) -> list[ProductPromotion]:
        """The promotions `product` is on, one per promotion id (first rule wins).

        The occurrence is the promotion id with the start of its validity: the same
        promotion re-applied in a new rule set is the same occurrence, a new run of it is
        a new one."""
        hits = self.rules.finder.product_hits(product, remember=False)
        candidates = [self.rules.rules[o] for o in hits.selected]
        candidates += [r for r in self._loose if r.target.matches(product, 0)]
        found: dict[str, ProductPromotion] = {}
        for rule in sorted(candidates, key=lambda r: r.ordinal):
            if not _about_products(rule) or not _valid(rule, self.now):
                continue
            promotion = rule.rule.promotion_id
            if promotion in found:
                continue
            start = "" if rule.valid_from is None else rule.valid_from.isoformat()
            found[promotion] = ProductPromotion(
                promotion, rule.rule.id, rule.rule.message or rule.rule.display_name,
                f"promotion:{promotion}@{start}"[:160])
        return list(found.values())


def promotions_of(rules: CompiledRuleSet, product: Product, now: dt.datetime
                  ) -> list[ProductPromotion]:
    """The promotions `product` is on at `now` (see `PromotionLookup.of`)."""
    return PromotionLookup(rules, now).of(product)
