"""Candidate index: which rules can possibly apply to a receipt, by product and store keys.

Each rule is filed under the keys of ONE necessary clause (its target selectors, a
`receipt_contains` entry, or its store/network condition) - the most selective one - or in
the small global bucket when it has none. A rule can only give a discount when one of its
keys occurs in the receipt, so looking up the receipt's keys never misses a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from server.pricing.model import Product, Store
from server.pricing.schema import Rule
from server.pricing.schema_conditions import Selector

Key = tuple[str, str]

# Attribute kinds from most to least selective (rank = position).
_KINDS = ("sku", "subgroup", "brand", "supplier", "group", "price_category")
_FIELDS = {
    "sku": "skus",
    "subgroup": "subgroups",
    "brand": "brands",
    "supplier": "suppliers",
    "group": "groups",
    "price_category": "price_categories",
}
_STORE_RANK, _NETWORK_RANK = len(_KINDS), len(_KINDS) + 1


def _selector_keys(selector: Selector) -> tuple[int, list[Key]] | None:
    for rank, kind in enumerate(_KINDS):
        values: tuple[str, ...] = getattr(selector, _FIELDS[kind])
        if values:
            return rank, [(kind, v) for v in values]
    return None


def _clause_keys(selectors: Sequence[Selector]) -> tuple[int, list[Key]] | None:
    """Keys for 'any of these selectors'; None if one of them is not indexable."""
    if not selectors:
        return None
    worst = 0
    keys: list[Key] = []
    for selector in selectors:
        found = _selector_keys(selector)
        if found is None:
            return None
        worst, keys = max(worst, found[0]), keys + found[1]
    return worst, keys


def index_clause(rule: Rule) -> tuple[tuple[Key, ...], bool]:
    """Keys of the rule's most selective necessary clause, and whether that clause is the
    target (then the lines that hit a key are the only lines the rule can discount).

    A rule with a `coupon` condition is filed under its coupon key alone: it is a candidate
    only for receipts presenting that promotion's coupon, and costs others nothing."""
    if rule.conditions.coupon is not None:
        return (("coupon", rule.conditions.coupon),), False
    clauses = [(_clause_keys(rule.target), True)]
    clauses += [(_clause_keys(item.match), False) for item in rule.conditions.receipt_contains]
    if rule.conditions.stores:
        clauses.append(((_STORE_RANK, [("store", s) for s in rule.conditions.stores]), False))
    if rule.conditions.networks:
        clauses.append(((_NETWORK_RANK, [("network", n) for n in rule.conditions.networks]), False))
    usable = [(c, by_target) for c, by_target in clauses if c is not None]
    if not usable:
        return (), False
    (_, keys), by_target = min(usable, key=lambda item: (item[0][0], len(item[0][1])))
    return tuple(dict.fromkeys(keys)), by_target


def product_keys(p: Product) -> list[Key]:
    """Every key one product can hit."""
    keys: list[Key] = [("sku", p.sku)]
    for kind, value in (
        ("subgroup", p.subgroup),
        ("brand", p.brand),
        ("supplier", p.supplier),
        ("group", p.group),
        ("price_category", p.price_category),
    ):
        if value is not None:
            keys.append((kind, value))
    return keys


def store_keys(store: Store, coupons: frozenset[str] = frozenset()) -> list[Key]:
    """Every key the store (and the receipt's accepted coupons) can hit."""
    keys: list[Key] = [("store", store.id), *(("network", n) for n in sorted(store.network_ids))]
    if coupons:
        keys.extend(("coupon", c) for c in sorted(coupons))
    return keys


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """Rule ordinals by key, plus the global bucket."""

    buckets: Mapping[Key, tuple[int, ...]]
    global_bucket: tuple[int, ...]
    target_keyed: frozenset[int] = frozenset()
    """Rules filed by their target: only the lines hitting their keys can match."""

    @classmethod
    def build(cls, keyed: Iterable[tuple[int, tuple[Key, ...], bool]]) -> RuleIndex:
        """Index (ordinal, keys, keyed_by_target) triples."""
        buckets: dict[Key, list[int]] = {}
        global_bucket: list[int] = []
        target_keyed: set[int] = set()
        for ordinal, keys, by_target in keyed:
            if not keys:
                global_bucket.append(ordinal)
            elif by_target:
                target_keyed.add(ordinal)
            for key in keys:
                buckets.setdefault(key, []).append(ordinal)
        return cls(
            {k: tuple(v) for k, v in buckets.items()}, tuple(global_bucket), frozenset(target_keyed)
        )

    def lookup_lines(self, products: Sequence[Product], store: Store,
                     coupons: frozenset[str] = frozenset()) -> dict[int, set[int] | None]:
        """Ordinal -> indexes of the lines that hit the rule's keys (None: not line-keyed)."""
        hits: dict[int, set[int] | None] = dict.fromkeys(self.global_bucket)
        get = self.buckets.get
        for key in store_keys(store, coupons):
            for ordinal in get(key, ()):
                hits[ordinal] = None
        target_keyed = self.target_keyed
        for line_index, product in enumerate(products):
            for key in product_keys(product):
                for ordinal in get(key, ()):
                    if ordinal not in target_keyed:
                        hits[ordinal] = None
                    elif ordinal not in hits:
                        hits[ordinal] = {line_index}
                    else:
                        lines = hits[ordinal]
                        if lines is not None:
                            lines.add(line_index)
        return hits
