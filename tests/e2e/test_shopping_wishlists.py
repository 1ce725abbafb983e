"""Wishlists end to end: add, remove and list over gRPC; wishlist.item_promoted raised by the
jobs pass against the active rule set, and wishlist.item_restocked by the stock entry point
(`wishlist_hits_for_stock`) on real PostgreSQL; each once per member, item and occurrence."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from kopilka.v1 import admin_pb2
from kopilka.v1 import shopping_pb2 as S

from server.audit.actor import JOBS, acting
from server.db.shopping.repo import SqlShoppingRepository
from server.errors import DomainError
from server.features.jobs import run_all_jobs, run_steps
from server.shopping.model import WISHLIST_PROMOTED, WISHLIST_RESTOCKED, StockChange
from server.shopping.service import wishlist_hits_for_stock
from tests.e2e.shopping_support import OTHER, WEB, count, events, later, setup_world
from tests.helpers import rid, rpc_error

RULES = """
schema_version: 1
name: wishes
settings: {currency: UAH, timezone: Europe/Kyiv}
rules:
  - id: milk-10
    name: Milk week -10%
    promotion: milk-week
    target: [{groups: [milk]}]
    benefit: {type: percent, percent: "10%"}
  - id: everything-3
    name: Everything -3%
    benefit: {type: percent, percent: "3%"}
  - id: tea-next-century
    validity: {start: 2099-01-01}
    target: [{skus: [tea-1]}]
    benefit: {type: percent, percent: "5%"}
"""


@pytest.fixture
async def world(admin, make_key, client_for):  # type: ignore[no-untyped-def]
    return await setup_world(admin, make_key, client_for, members=3)


def add(card: str, sku: str) -> S.AddWishlistItemRequest:
    return S.AddWishlistItemRequest(request_id=str(uuid.uuid4()),
                                    member=S.MemberKey(card_number=card), sku=sku)


async def test_a_wishlist_is_added_to_listed_in_pages_and_removed_from(world, admin, app):
    member_id, card, phone = world.members[0]
    first = await world.web.shopping.AddWishlistItem(add(card, "milk-1"))
    assert first.added and first.item.sku == "milk-1"
    again = await world.web.shopping.AddWishlistItem(add(card, "milk-1"))
    assert not again.added and again.item == first.item
    await world.web.shopping.AddWishlistItem(add(card, "tea-1"))
    await world.web.shopping.AddWishlistItem(add(card, "jam-1"))

    seen, token = [], ""
    while True:
        page = await admin.shopping.ListWishlist(S.ListWishlistRequest(
            member=S.MemberKey(phone=phone), page={"page_size": 2, "page_token": token}))
        assert page.member_id == member_id
        seen += [i.sku for i in page.items]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == ["jam-1", "tea-1", "milk-1"]  # newest first

    removed = await world.web.shopping.RemoveWishlistItem(S.RemoveWishlistItemRequest(
        request_id=str(uuid.uuid4()), member=S.MemberKey(member_id=member_id), sku="tea-1"))
    assert removed.removed
    not_there = await world.web.shopping.RemoveWishlistItem(S.RemoveWishlistItemRequest(
        request_id=str(uuid.uuid4()), member=S.MemberKey(member_id=member_id), sku="tea-1"))
    assert not not_there.removed
    listed = await world.web.shopping.ListWishlist(S.ListWishlistRequest(
        member=S.MemberKey(card_number=card)))
    assert [i.sku for i in listed.items] == ["jam-1", "milk-1"]
    assert await count(app, "SELECT count(*) FROM audit_log WHERE object_type = 'wishlist'") == 4


async def test_bad_wishlist_requests_name_the_field_and_change_nothing(world, app):
    _, card, _ = world.members[0]
    for request, field in ((add(card, "nope"), "sku"), (add(card, ""), "sku"),
                           (S.AddWishlistItemRequest(request_id=str(uuid.uuid4()), sku="milk-1"),
                            "member"),
                           (S.AddWishlistItemRequest(
                               request_id=str(uuid.uuid4()), sku="milk-1",
                               member=S.MemberKey(member_id="x")), "member.member_id")):
        with rpc_error() as failure:
            await world.web.shopping.AddWishlistItem(request)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == [field]
    with rpc_error() as failure:
        await world.web.shopping.AddWishlistItem(add("2900999999999", "milk-1"))
    assert failure.reason == "CARD_NOT_FOUND"
    assert await count(app, "SELECT count(*) FROM shopping_wishlist_items") == 0


async def test_a_wished_item_on_promotion_is_announced_once_per_member(world, admin, app):
    (m0, card0, _), (m1, card1, _), (m2, card2, _) = world.members
    for card, sku in ((card0, "milk-1"), (card1, "milk-1"), (card0, "tea-1"),
                      (card2, "bread-1")):
        await world.web.shopping.AddWishlistItem(add(card, sku))
    applied = await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=RULES))

    with acting(JOBS):  # two runners at once, then the scheduled pass twice
        first, second = await asyncio.gather(run_steps(app.db, later(1), app.settings),
                                             run_steps(app.db, later(1), app.settings))
        assert first.counts["wishlist_promotions"] + second.counts["wishlist_promotions"] == 2
        assert (await run_all_jobs(app.db, later(2), app.settings)).counts[
            "wishlist_promotions"] == 0
    hits = await events(app, WISHLIST_PROMOTED)
    assert sorted(h["member_id"] for h in hits) == sorted([m0, m1])
    assert hits[0] == {"member_id": hits[0]["member_id"], "sku": "milk-1",
                       "promotion_id": "milk-week", "rule_id": "milk-10",
                       "rule_set_version": applied.version, "reason": "Milk week -10%"}

    # a new promotion of the item is a new occurrence; a member wishing it later gets it too
    await world.web.shopping.AddWishlistItem(add(card2, "milk-1"))
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=RULES.replace(
        "promotion: milk-week", "promotion: milk-month")))
    with acting(JOBS):
        assert (await run_all_jobs(app.db, later(3), app.settings)).counts[
            "wishlist_promotions"] == 3
    hits = await events(app, WISHLIST_PROMOTED)
    assert [h["promotion_id"] for h in hits] == ["milk-week"] * 2 + ["milk-month"] * 3
    assert sorted(h["member_id"] for h in hits[2:]) == sorted([m0, m1, m2])
    assert await count(app, "SELECT count(*) FROM shopping_wishlist_hits "
                            "WHERE kind = 'promotion'") == 5


async def stock(app, *changes: StockChange) -> int:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return await wishlist_hits_for_stock(SqlShoppingRepository(session), list(changes))


async def test_a_wished_item_back_in_stock_is_announced_once_per_restock(world, app):
    (m0, card0, _), (m1, card1, _), _ = world.members
    await world.web.shopping.AddWishlistItem(add(card0, "tea-1"))
    await world.web.shopping.AddWishlistItem(add(card1, "tea-1"))
    await world.web.shopping.AddWishlistItem(add(card1, "jam-1"))

    assert await stock(app, StockChange(WEB, "tea-1", 0), StockChange(WEB, "jam-1", 4000)) == 0
    assert await stock(app, StockChange(WEB, "tea-1", 5000)) == 2  # back from nothing
    assert await stock(app, StockChange(OTHER, "tea-1", 1000)) == 0  # was in stock already
    assert await stock(app, StockChange(WEB, "tea-1", 0)) == 0
    assert await stock(app, StockChange(OTHER, "tea-1", 0)) == 0  # out everywhere now
    assert await stock(app, StockChange(OTHER, "tea-1", 2000)) == 2  # second restock
    hits = await events(app, WISHLIST_RESTOCKED)
    assert [(h["member_id"] in (m0, m1), h["restock"], h["store_codes"]) for h in hits] == \
        [(True, 1, [WEB])] * 2 + [(True, 2, [OTHER])] * 2
    assert hits[0]["available_milli"] == 5000
    assert await count(app, "SELECT count(*) FROM shopping_wishlist_hits "
                            "WHERE kind = 'stock'") == 4


async def test_concurrent_restocks_of_one_item_announce_it_once(world, app):
    _, card0, _ = world.members[0]
    await world.web.shopping.AddWishlistItem(add(card0, "butter-1"))
    assert await stock(app, StockChange(WEB, "butter-1", 0), StockChange(OTHER, "butter-1", 0)) \
        == 0
    results = await asyncio.gather(stock(app, StockChange(WEB, "butter-1", 1000)),
                                   stock(app, StockChange(OTHER, "butter-1", 3000)))
    assert sorted(results) == [0, 1]
    assert len(await events(app, WISHLIST_RESTOCKED)) == 1


async def test_stock_changes_with_bad_fields_are_refused_whole(world, app):
    with pytest.raises(DomainError) as refused:
        await stock(app, StockChange(WEB, "tea-1", 10), StockChange("nowhere", "tea-1", 5),
                    StockChange(WEB, "", -1))
    assert [v.field for v in refused.value.violations] == [
        "changes[1].store_code", "changes[2].sku", "changes[2].available_milli"]
    assert await count(app, "SELECT count(*) FROM shopping_stock_levels") == 0


async def test_setting_stock_through_the_order_service_tells_the_wishlists(world, admin, app):
    """SetStock (orders' stock table) and the wishlists share one path: a product set back
    in stock over the API raises wishlist.item_restocked in the same transaction."""
    from kopilka.v1 import orders_pb2 as O

    member_id, card, _ = world.members[0]
    await world.web.shopping.AddWishlistItem(add(card, "jam-1"))

    def set_stock(quantity: int) -> O.SetStockRequest:
        return O.SetStockRequest(request_id=str(uuid.uuid4()), balances=[
            O.StockBalance(store_code=WEB, sku="jam-1", quantity_milli=quantity)])

    await admin.orders.SetStock(set_stock(0))
    assert await events(app, WISHLIST_RESTOCKED) == []
    await admin.orders.SetStock(set_stock(3000))
    (hit,) = await events(app, WISHLIST_RESTOCKED)
    assert (hit["member_id"], hit["sku"], hit["available_milli"]) == (member_id, "jam-1", 3000)
