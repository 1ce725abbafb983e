"""Per-receipt candidate rules, with the lines each rule's target selects.

The `RuleIndex` says which rules a product's keys hit; whether a hit rule's target really
selects the product only depends on the product (unless a selector bounds the unit price),
so both answers are memoized per product object in the compiled rule set. A receipt then
costs one dict lookup per line instead of six index probes and a selector walk per rule.

The memo is keyed by object identity and each entry keeps its product alive, so an id is
never reused while its entry exists, and a product from another catalog (another object)
can never see a stale answer. Only catalog products are remembered (lines carrying their
own `Product` are per-request objects) and the memo is cleared when it reaches
`MEMO_LIMIT` entries, so it stays bounded whatever the callers pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.pricing.context import LineState
from server.pricing.index import RuleIndex, product_keys, store_keys
from server.pricing.matching import LineMatcher
from server.pricing.model import Product, Store
from server.pricing.schema_conditions import Conditions

MEMO_LIMIT = 200_000
"""Products remembered per rule set (a large chain's whole assortment)."""
STORE_LIMIT = 10_000
"""Stores whose admitted rules are remembered per rule set."""


@dataclass(frozen=True, slots=True)
class ProductHits:
    """What the index says about one product."""

    keyed: tuple[int, ...]
    """Every target-keyed rule the product's keys hit (counted as evaluated)."""
    selected: tuple[int, ...]
    """Those whose target selects the product at any unit price."""
    priced: tuple[int, ...]
    """Those whose target bounds the unit price: checked per line."""
    unkeyed: tuple[int, ...]
    """Rules hit through another clause (e.g. receipt_contains): their target is checked
    against every line."""
    open: tuple[int, ...] = ()
    """The `selected` rules without store conditions."""
    gated: frozenset[int] = frozenset()
    """The `selected` rules with store conditions (at 10k rules mostly other stores'):
    intersected with the store's admitted rules in C, never walked one by one."""


NO_HITS = ProductHits((), (), (), ())


@dataclass(frozen=True, slots=True)
class StoreGate:
    """A rule's store conditions, checked while collecting candidates: at 10k rules most
    keyed hits are local variants for other stores, and dropping them here is cheaper than
    evaluating them. `conditions.py` still checks the same conditions in full."""

    stores: frozenset[str] | None
    excluded: frozenset[str]
    networks: frozenset[str] | None

    @classmethod
    def of(cls, conditions: Conditions) -> StoreGate | None:
        """None when the rule has no store conditions."""
        if not (conditions.stores or conditions.exclude_stores or conditions.networks):
            return None
        return cls(
            frozenset(conditions.stores) if conditions.stores else None,
            frozenset(conditions.exclude_stores),
            frozenset(conditions.networks) if conditions.networks else None,
        )

    def admits(self, store: Store) -> bool:
        """Whether the store conditions hold at `store`."""
        if self.stores is not None and store.id not in self.stores:
            return False
        if store.id in self.excluded:
            return False
        return self.networks is None or not self.networks.isdisjoint(store.network_ids)


@dataclass(frozen=True, slots=True)
class Candidates:
    """The index's answer for one receipt, rules in evaluation order."""

    evaluated: int
    """How many distinct rules the index returned (PricingResult.rules_evaluated)."""
    rules: list[tuple[int, list[int] | None]]
    """(ordinal, indexes of the lines its target selects, or None: check every line);
    rules whose store conditions fail here are already left out."""


class CandidateFinder:
    """Index lookups for receipts, memoized per catalog product; the rules whose store
    conditions hold are remembered per store, so a receipt never handles the local rules
    of other stores beyond counting them (at 10k rules most keyed hits are those)."""

    __slots__ = ("_admitted", "_by_network", "_by_store", "_gated", "_gates", "_index", "_memo",
                 "_open", "_price_free", "_targets")

    def __init__(
        self,
        index: RuleIndex,
        targets: Sequence[LineMatcher],
        gates: Sequence[StoreGate | None],
    ) -> None:
        self._index = index
        self._targets = targets
        self._gates = gates
        self._price_free = tuple(not t.uses_price for t in targets)
        self._memo: dict[int, tuple[Product, ProductHits]] = {}
        self._gated = frozenset(o for o, gate in enumerate(gates) if gate is not None)
        # each gated rule filed once, under a store or network it can hold at, or as open
        self._by_store: dict[str, list[int]] = {}
        self._by_network: dict[str, list[int]] = {}
        self._open: list[int] = []
        for o, gate in enumerate(gates):
            if gate is None:
                continue
            if gate.stores is not None:
                for store_id in gate.stores:
                    self._by_store.setdefault(store_id, []).append(o)
            elif gate.networks is not None:
                for network in gate.networks:
                    self._by_network.setdefault(network, []).append(o)
            else:
                self._open.append(o)
        self._admitted: dict[tuple[str, frozenset[str]], frozenset[int]] = {}

    def admitted(self, store: Store) -> frozenset[int]:
        """The rules with store conditions that hold at `store` (remembered per store)."""
        key = (store.id, store.network_ids)
        found = self._admitted.get(key)
        if found is not None:
            return found
        gates = self._gates
        near = self._by_store.get(store.id, []) + self._open
        for network in store.network_ids:
            near += self._by_network.get(network, [])
        found = frozenset(o for o in near if (gate := gates[o]) is not None
                          and gate.admits(store))
        if len(self._admitted) >= STORE_LIMIT:
            self._admitted.clear()
        self._admitted[key] = found
        return found

    def __len__(self) -> int:
        """How many products are remembered now."""
        return len(self._memo)

    def product_hits(self, product: Product, remember: bool) -> ProductHits:
        """The (memoized) index answer for one product."""
        entry = self._memo.get(id(product))
        if entry is not None and entry[0] is product:
            return entry[1]
        hits = self._compute(product)
        if remember:
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[id(product)] = (product, hits)
        return hits

    def _compute(self, product: Product) -> ProductHits:
        get = self._index.buckets.get
        ordinals = dict.fromkeys(o for key in product_keys(product) for o in get(key, ()))
        if not ordinals:
            return NO_HITS
        target_keyed = self._index.target_keyed
        keyed = tuple(o for o in ordinals if o in target_keyed)
        selected, priced = [], []
        for o in keyed:
            if not self._price_free[o]:
                priced.append(o)
            elif self._targets[o].matches(product, 0):
                selected.append(o)
        unkeyed = tuple(o for o in ordinals if o not in target_keyed)
        gates = self._gates
        return ProductHits(keyed, tuple(selected), tuple(priced), unkeyed,
                           tuple(o for o in selected if gates[o] is None),
                           frozenset(o for o in selected if gates[o] is not None))

    def find(
        self, states: Sequence[LineState], remember: Sequence[bool], store: Store,
        coupons: frozenset[str] = frozenset(),
    ) -> Candidates:
        """Candidate rules for the receipt's lines, store and accepted coupons (memo looked
        up inline: this loop runs once per line of every receipt)."""
        index = self._index
        everywhere: set[int] = set(index.global_bucket)
        get = index.buckets.get
        for key in store_keys(store, coupons):
            everywhere.update(get(key, ()))
        evaluated = set(everywhere)
        lines: dict[int, list[int]] = {}
        targets = self._targets
        memo_get = self._memo.get
        gated, admitted = self._gated, self.admitted(store)
        for i, state in enumerate(states):
            product = state.product
            entry = memo_get(id(product))
            if entry is not None and entry[0] is product:
                hits = entry[1]
            else:
                hits = self.product_hits(product, remember[i])
            if hits is NO_HITS:
                continue
            evaluated.update(hits.keyed)
            if hits.unkeyed:
                everywhere.update(hits.unkeyed)
            for o in hits.open:
                if o in lines:
                    lines[o].append(i)
                else:
                    lines[o] = [i]
            if hits.gated:
                for o in admitted.intersection(hits.gated):
                    if o in lines:
                        lines[o].append(i)
                    else:
                        lines[o] = [i]
            for o in hits.priced:
                if (o not in gated or o in admitted) and targets[o].matches(
                        product, state.line.unit_price):
                    lines.setdefault(o, []).append(i)
        evaluated.update(everywhere)
        ordered: list[tuple[int, list[int] | None]] = [
            (o, None if o in everywhere else lines[o])
            for o in sorted(everywhere.union(lines))
            if o not in gated or o in admitted
        ]
        return Candidates(len(evaluated), ordered)
