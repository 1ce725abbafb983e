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
    """Index lookups for receipts, memoized per catalog product."""

    __slots__ = ("_gates", "_index", "_memo", "_price_free", "_targets")

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
        return ProductHits(keyed, tuple(selected), tuple(priced), unkeyed)

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
            everywhere.update(hits.unkeyed)
            for o in hits.selected:
                if o in lines:
                    lines[o].append(i)
                else:
                    lines[o] = [i]
            for o in hits.priced:
                if targets[o].matches(product, state.line.unit_price):
                    lines.setdefault(o, []).append(i)
        evaluated.update(everywhere)
        gates = self._gates
        ordered: list[tuple[int, list[int] | None]] = [
            (o, None if o in everywhere else lines[o])
            for o in sorted(everywhere.union(lines))
            if (gate := gates[o]) is None or gate.admits(store)
        ]
        return Candidates(len(evaluated), ordered)
