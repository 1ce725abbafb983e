"""Which stores fulfil an order's lines: availability and pluggable allocation strategies.

A strategy is anything with `allocate(needs, stock, context) -> {line_no: store}`; the
built-ins cover the seed's "prioritization": a store priority list, the most stock, the
fewest shipments, the customer's city first. A line is allocated to one store that holds
its whole quantity; a line no store holds in full stays unallocated (split it first).
The virtual shelf: a pickup order may take lines from other stores (transfer to the pickup
store); without it only the pickup store's own stock counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# store -> sku -> quantity in thousandths
Stock = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class Need:
    """One open line to fulfil."""

    line_no: int
    sku: str
    quantity_milli: int


@dataclass(frozen=True, slots=True)
class AllocationContext:
    """What strategies may consider besides stock."""

    priority: Sequence[str] = ()  # stores, most preferred first
    customer_city: str = ""
    cities: Mapping[str, str] = field(default_factory=dict)  # store -> city


class AllocationStrategy(Protocol):
    """Picks a store for each line it can; lines left out are unavailable."""

    def allocate(self, needs: Sequence[Need], stock: Stock,
                 context: AllocationContext) -> dict[int, str]: ...


def holders(need: Need, stock: Stock) -> list[str]:
    """Stores holding the line's whole quantity, by code."""
    return sorted(s for s, skus in stock.items() if skus.get(need.sku, 0) >= need.quantity_milli)


def _ranked(stores: Sequence[str], priority: Sequence[str]) -> list[str]:
    rank = {s: i for i, s in enumerate(priority)}
    return sorted(stores, key=lambda s: (rank.get(s, len(rank)), s))


class StorePriority:
    """The first store of the priority list holding the line (unlisted stores last)."""

    def allocate(self, needs: Sequence[Need], stock: Stock,
                 context: AllocationContext) -> dict[int, str]:
        out = {}
        for need in needs:
            found = _ranked(holders(need, stock), context.priority)
            if found:
                out[need.line_no] = found[0]
        return out


class MostStock:
    """The store with the most of the line."""

    def allocate(self, needs: Sequence[Need], stock: Stock,
                 context: AllocationContext) -> dict[int, str]:
        out = {}
        for need in needs:
            found = holders(need, stock)
            if found:
                # max keeps the first of equals: found is by code, so ties go to the lowest
                out[need.line_no] = max(found, key=lambda s: stock[s][need.sku])
        return out


class FewestShipments:
    """Greedy set cover: the store holding the most unallocated lines first, again and
    again, so the order ships from as few stores as it can (ties: priority, then code)."""

    def allocate(self, needs: Sequence[Need], stock: Stock,
                 context: AllocationContext) -> dict[int, str]:
        can = {n.line_no: set(holders(n, stock)) for n in needs}
        out: dict[int, str] = {}
        left = {n for n, stores in can.items() if stores}
        while left:
            counts: dict[str, int] = {}
            for n in left:
                for s in can[n]:
                    counts[s] = counts.get(s, 0) + 1
            best = max(_ranked(list(counts), context.priority), key=lambda s: counts[s])
            for n in [n for n in left if best in can[n]]:
                out[n] = best
                left.discard(n)
        return out


class CustomerCityFirst:
    """Stores in the customer's city first, then the priority list."""

    def allocate(self, needs: Sequence[Need], stock: Stock,
                 context: AllocationContext) -> dict[int, str]:
        local = [s for s in stock if context.cities.get(s, "").casefold()
                 == context.customer_city.casefold() and context.customer_city]
        priority = [*_ranked(local, context.priority), *context.priority]
        return StorePriority().allocate(needs, stock, AllocationContext(
            priority, context.customer_city, context.cities))


STRATEGIES: dict[str, AllocationStrategy] = {
    "store_priority": StorePriority(),
    "most_stock": MostStock(),
    "fewest_shipments": FewestShipments(),
    "customer_city": CustomerCityFirst(),
}


def shelf(stock: Stock, pickup_store: str | None, virtual_shelf: bool) -> Stock:
    """The stock a pickup order may draw on: its store only, unless the virtual shelf lets
    it sell what other stores hold."""
    if pickup_store is None or virtual_shelf:
        return stock
    return {pickup_store: stock.get(pickup_store, {})}
