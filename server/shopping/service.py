"""The shopping application service: one function per change, whatever door calls it.

The gRPC servicer, the jobs pass and (at merge) the orders service call these with a
repository bound to their transaction, so the change, its audit row and its domain events
commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from server.errors import Violations, invalid, not_found
from server.pricing.compiler import CompiledRuleSet
from server.pricing.model import Catalog, Product
from server.shopping.model import (
    BASKET_ABANDONED,
    WISHLIST_PROMOTED,
    WISHLIST_RESTOCKED,
    Basket,
    BasketReport,
    BasketState,
    Pair,
    Recommendation,
    SiteEvent,
    StockChange,
    WishlistItem,
    abandoned_payload,
    basket_total,
    check_report,
    check_site_event,
    not_orderable,
    promoted_payload,
    restocked_payload,
)
from server.shopping.promotions import PromotionLookup

#: most pairs kept per product by the computation (the best by receipts together)
PAIRS_PER_SKU = 50
#: baskets marked abandoned per transaction of the job
ABANDON_BATCH = 500
#: site events deleted per transaction of the retention job
PRUNE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Restock:
    """A SKU whose availability over all stores went from nothing to `available_milli`."""

    sku: str
    available_milli: int
    restock: int  # how many times it came back so far: names this occurrence
    store_codes: tuple[str, ...]


class ShoppingRepository(Protocol):
    """Storage of the shopping context (server/db/shopping/repo.py), in one transaction."""

    async def known_skus(self, skus: Collection[str]) -> frozenset[str]: ...
    async def known_stores(self, codes: Collection[str]) -> frozenset[str]: ...
    async def known_members(self, ids: Collection[uuid.UUID]) -> frozenset[uuid.UUID]: ...
    async def basket(self, store_code: str, basket_id: str, *, lock: bool = False
                     ) -> Basket | None: ...
    async def insert_basket(self, basket: Basket) -> bool: ...
    async def update_basket(self, basket: Basket) -> None: ...
    async def claim_abandoned(self, cutoff: dt.datetime, now: dt.datetime, limit: int
                              ) -> list[Basket]: ...
    async def add_wish(self, item: WishlistItem) -> tuple[WishlistItem, bool]: ...
    async def remove_wish(self, member_id: uuid.UUID, sku: str) -> bool: ...
    async def wishes(self, member_id: uuid.UUID, before: tuple[dt.datetime, uuid.UUID] | None,
                     limit: int) -> list[WishlistItem]: ...
    async def wished_skus(self) -> list[str]: ...
    async def claim_hits(self, sku: str, occurrence: str, kind: str
                         ) -> list[tuple[uuid.UUID, uuid.UUID]]: ...
    async def apply_stock(self, changes: Sequence[StockChange]) -> list[Restock]: ...
    async def add_site_events(self, events: Sequence[SiteEvent]) -> int: ...
    async def site_events(self, member_id: uuid.UUID,
                          before: tuple[dt.datetime, uuid.UUID] | None, limit: int,
                          stores: frozenset[str] | None, since: dt.datetime
                          ) -> list[SiteEvent]: ...
    async def prune_site_events(self, cutoff: dt.datetime, limit: int) -> int: ...
    async def last_pair_run(self) -> dt.datetime | None: ...
    async def recompute_pairs(self, since: dt.datetime, now: dt.datetime, min_pairs: int,
                              per_sku: int) -> tuple[int, int]: ...
    async def pairs_for(self, skus: Collection[str], limit: int) -> list[Pair]: ...
    async def publish(self, event_type: str, payload: Mapping[str, Any],
                      event_id: uuid.UUID | None = None) -> uuid.UUID: ...
    async def audit(self, object_type: str, object_id: str, action: str, before: Any,
                    after: Any) -> None: ...


def _basket_audit(basket: Basket) -> dict[str, Any]:
    """What the audit keeps of a basket: no prices per line, no personal data."""
    return {"version": basket.version, "state": basket.state.value,
            "lines": len(basket.lines), "total_minor": basket.total_minor,
            "member_id": None if basket.member_id is None else str(basket.member_id)}


async def _check_store(repo: ShoppingRepository, store_code: str, field_path: str) -> None:
    if store_code not in await repo.known_stores([store_code]):
        raise invalid(field_path, "unknown store", "STORE_NOT_FOUND")


async def report_basket(repo: ShoppingRepository, report: BasketReport, now: dt.datetime
                        ) -> tuple[Basket, bool]:
    """Store the reported basket unless the stored one is as new; (basket, applied).

    A report replaces the whole contents. Its version must be higher than the stored one
    (a late, older report changes nothing); version 0 takes the next number. An ordered
    basket no longer changes (BASKET_ALREADY_ORDERED)."""
    await _check_store(repo, report.store_code, "store_code")
    known = await repo.known_skus({line.sku for line in report.lines if line.sku})
    check_report(report.basket_id, report.currency, report.lines, report.version, known)
    for _ in range(2):  # a concurrent first report of the same basket: lock it and go on
        current = await repo.basket(report.store_code, report.basket_id, lock=True)
        if current is not None:
            if current.state is BasketState.ORDERED:
                raise not_orderable(current)
            version = report.version or current.version + 1
            if version <= current.version:
                return current, False
            basket = replace(current, member_id=report.member_id, currency=report.currency,
                             version=version, lines=report.lines,
                             total_minor=basket_total(report.lines), reported_at=now)
            await repo.update_basket(basket)
            await repo.audit("basket", str(basket.id), "report", _basket_audit(current),
                             _basket_audit(basket))
            return basket, True
        basket = Basket(uuid.uuid4(), report.store_code, report.basket_id, report.member_id,
                        report.currency, report.version or 1, BasketState.OPEN, report.lines,
                        basket_total(report.lines), now)
        if await repo.insert_basket(basket):
            await repo.audit("basket", str(basket.id), "report", None, _basket_audit(basket))
            return basket, True
    raise RuntimeError("basket neither found nor inserted")  # unreachable: insert conflicted


async def get_basket(repo: ShoppingRepository, store_code: str, basket_id: str) -> Basket:
    basket = await repo.basket(store_code, basket_id)
    if basket is None:
        raise not_found("basket", basket_id, "BASKET_NOT_FOUND")
    return basket


async def mark_basket_ordered(repo: ShoppingRepository, store_code: str, basket_id: str,
                              order_reference: str, now: dt.datetime) -> Basket:
    """The basket became an order: it never raises basket.abandoned from now on.

    The orders service calls this in the transaction that places the order. Marking it
    again with the same reference changes nothing; with another reference it is refused
    (BASKET_ALREADY_ORDERED), since one basket becomes one order."""
    if not basket_id.strip():
        raise invalid("basket_id", "required: the store's id of the basket")
    basket = await repo.basket(store_code, basket_id, lock=True)
    if basket is None:
        raise not_found("basket", basket_id, "BASKET_NOT_FOUND")
    if basket.state is BasketState.ORDERED:
        if (basket.order_reference or "") == order_reference:
            return basket
        raise not_orderable(basket)
    ordered = replace(basket, state=BasketState.ORDERED, ordered_at=now,
                      order_reference=order_reference or None)
    await repo.update_basket(ordered)
    await repo.audit("basket", str(basket.id), "order", _basket_audit(basket),
                     {**_basket_audit(ordered), "order_reference": order_reference})
    return ordered


async def raise_abandoned(repo: ShoppingRepository, now: dt.datetime, minutes: int,
                          limit: int = ABANDON_BATCH) -> int:
    """basket.abandoned for open baskets not reported for `minutes`; once per basket.

    Claiming and marking is one statement with SKIP LOCKED, and the events go into the
    outbox in the same transaction: two runners at once raise each event once."""
    claimed = await repo.claim_abandoned(now - dt.timedelta(minutes=minutes), now, limit)
    for basket in claimed:
        await repo.publish(BASKET_ABANDONED, abandoned_payload(basket, minutes))
    if claimed:
        await repo.audit("basket", "abandoned", "abandon", None,
                         {"count": len(claimed), "baskets": [str(b.id) for b in claimed]})
    return len(claimed)


# --- wishlists -----------------------------------------------------------------------------

async def add_wish(repo: ShoppingRepository, member_id: uuid.UUID, sku: str,
                   now: dt.datetime) -> tuple[WishlistItem, bool]:
    """Put `sku` on the member's wishlist; (item, added): already there is not an error."""
    if not sku:
        raise invalid("sku", "required")
    if sku not in await repo.known_skus([sku]):
        raise invalid("sku", "not in the catalog")
    item, added = await repo.add_wish(WishlistItem(uuid.uuid4(), member_id, sku, now))
    if added:
        await repo.audit("wishlist", str(member_id), "add", None, {"sku": sku})
    return item, added


async def remove_wish(repo: ShoppingRepository, member_id: uuid.UUID, sku: str) -> bool:
    if not sku:
        raise invalid("sku", "required")
    removed = await repo.remove_wish(member_id, sku)
    if removed:
        await repo.audit("wishlist", str(member_id), "remove", {"sku": sku}, None)
    return removed


async def wishlist_hits_for_promotions(repo: ShoppingRepository, rules: CompiledRuleSet,
                                       catalog: Catalog, now: dt.datetime) -> int:
    """wishlist.item_promoted for every wished product the active rules put on promotion;
    once per member, item and promotion run (see server/shopping/promotions.py)."""
    hits = 0
    lookup = PromotionLookup(rules, now)
    for sku in await repo.wished_skus():
        product = catalog.get(sku) or Product(sku=sku)
        for promotion in lookup.of(product):
            for member_id, event_id in await repo.claim_hits(sku, promotion.occurrence,
                                                             "promotion"):
                await repo.publish(WISHLIST_PROMOTED, promoted_payload(
                    member_id, sku, promotion.promotion_id, promotion.rule_id, rules.version,
                    promotion.reason), event_id)
                hits += 1
    return hits


async def wishlist_hits_for_stock(repo: ShoppingRepository, changes: Sequence[StockChange]
                                  ) -> int:
    """Take stock levels (store, SKU, available quantity) as the stock table now has them;
    wishlist.item_restocked for each member wishing a SKU whose availability over all
    stores went from nothing to something. Once per member, item and restock.

    The orders service calls this in the transaction that changes its stock table."""
    errors = Violations()
    stores = await repo.known_stores({c.store_code for c in changes})
    for i, change in enumerate(changes):
        if change.store_code not in stores:
            errors.add(f"changes[{i}].store_code", "unknown store")
        if not change.sku:
            errors.add(f"changes[{i}].sku", "required")
        if change.available_milli < 0:
            errors.add(f"changes[{i}].available_milli", "must not be negative")
    errors.raise_if_any()
    hits = 0
    for restock in await repo.apply_stock(changes) if changes else []:
        for member_id, event_id in await repo.claim_hits(
                restock.sku, f"stock:{restock.restock}", "stock"):
            await repo.publish(WISHLIST_RESTOCKED, restocked_payload(
                member_id, restock.sku, restock.available_milli, restock.restock,
                restock.store_codes), event_id)
            hits += 1
    return hits


# --- site events ---------------------------------------------------------------------------

async def record_site_events(repo: ShoppingRepository, events: Sequence[SiteEvent]) -> int:
    """Store a batch of site events, all or none (every bad field named)."""
    errors = Violations()
    for i, event in enumerate(events):
        for path, description in check_site_event(i, event):
            errors.add(path, description)
    errors.raise_if_any()
    if events:
        await _check_store(repo, events[0].store_code, "store_code")
        known = await repo.known_members({e.member_id for e in events})
        for i, event in enumerate(events):
            if event.member_id not in known:
                errors.add(f"events[{i}].member_id", "no such member")
        errors.raise_if_any()
    done = await repo.add_site_events(events)
    if done:
        await repo.audit("site_events", events[0].store_code, "record", None,
                         {"count": done, "members": len({e.member_id for e in events})})
    return done


# --- recommendations -----------------------------------------------------------------------

def _percent(permille: int) -> str:
    return f"{permille // 10}.{permille % 10}%"


async def recommend(repo: ShoppingRepository, skus: Collection[str], limit: int
                    ) -> list[Recommendation]:
    """Products often bought with the basket's, best first, none of the basket's own; each
    product once, for the basket product it goes with best."""
    if not skus:
        return []
    found: dict[str, Recommendation] = {}
    for pair in await repo.pairs_for(skus, limit * 10):
        if pair.sku in found:
            continue
        found[pair.sku] = Recommendation(
            pair.sku, pair.because_of,
            f"bought together with {pair.because_of} in {pair.pair_count} receipts "
            f"({_percent(pair.confidence_permille)} of the receipts with it)",
            pair.pair_count, pair.confidence_permille, pair.support_permille)
        if len(found) >= limit:
            break
    return list(found.values())


async def recompute_pairs(repo: ShoppingRepository, now: dt.datetime, window_days: int,
                          min_pairs: int, refresh_minutes: int) -> int:
    """Recount products bought together, unless counted within `refresh_minutes`; the
    number of pairs stored (0 when it was fresh enough)."""
    last = await repo.last_pair_run()
    if last is not None and refresh_minutes and now - last < dt.timedelta(
            minutes=refresh_minutes):
        return 0
    receipts, pairs = await repo.recompute_pairs(now - dt.timedelta(days=window_days), now,
                                                 min_pairs, PAIRS_PER_SKU)
    await repo.audit("product_pairs", "all", "compute", None,
                     {"receipts": receipts, "pairs": pairs, "window_days": window_days})
    return pairs
