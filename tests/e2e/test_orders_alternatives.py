"""Alternatives for a missing line, accepted by the customer through a signed link served on
the HTTP site (single use, expiry, forgery refused)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from kopilka.v1 import mailings_pb2

from server.settings import Settings
from tests.e2e.orders_support import (
    PICKUP,
    WEB,
    O,
    lines,
    member_with_points,
    place,
    rid,
    setup_shop,
)


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
                    http_listen="127.0.0.1:0", orders_public_url="https://shop.example")


def bal(store: str, sku: str, milli: int) -> O.StockBalance:
    return O.StockBalance(store_code=store, sku=sku, quantity_milli=milli)


async def world(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    await setup_shop(app, admin)
    # sku-01: dairy, Brand A. sku-03 dairy A, sku-05 dairy B, sku-02 bakery A (too few),
    # sku-04 bakery A as well but not in stock, sku-06 bakery B (neither group nor brand)
    await admin.orders.SetStock(O.SetStockRequest(request_id=rid(), balances=[
        bal(PICKUP, "sku-03", 5000), bal("lviv-01", "sku-05", 2000),
        bal(PICKUP, "sku-02", 1000), bal(PICKUP, "sku-06", 9000)]))
    web = client_for(await make_key("store_backend", store_code=WEB))
    _, card = await member_with_points(admin, "+380675550001", 0)
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card, language="en"),
        lines(("sku-01", 2000, 1000), ("sku-02", 1000, 800)), number="W-9"))).order
    return web, order


def local(app, url: str) -> str:
    """The link as the customer gets it, sent to this test server's HTTP site."""
    assert url.startswith("https://shop.example/orders/alternatives/")
    return f"http://127.0.0.1:{app.http.port}" + url.removeprefix("https://shop.example")


async def test_offered_alternatives_are_in_stock_and_of_the_group_or_brand(
        app, admin, make_key, client_for):
    web, order = await world(app, admin, make_key, client_for)
    offered = await web.orders.OfferAlternatives(O.OfferAlternativesRequest(
        request_id=rid(), order_id=order.order_id, line_no=1))
    assert [(a.sku, a.unit_price_minor, a.in_stock_milli) for a in offered.alternatives] == [
        ("sku-03", 1000, 5000), ("sku-05", 1000, 2000)]
    assert offered.alternatives[0].name == "Product 3"
    priced = await web.orders.OfferAlternatives(O.OfferAlternativesRequest(
        request_id=rid(), order_id=order.order_id, line_no=1, price_band_bps=1500,
        candidates=[O.CandidateProduct(sku="sku-03", unit_price_minor=1200),
                    O.CandidateProduct(sku="sku-05", unit_price_minor=1100),
                    O.CandidateProduct(sku="sku-06", unit_price_minor=1000)]))
    assert [(a.sku, a.unit_price_minor) for a in priced.alternatives] == [("sku-05", 1100)]


async def test_the_customer_accepts_one_alternative_by_its_link_once(
        app, admin, make_key, client_for):
    web, order = await world(app, admin, make_key, client_for)
    offered = await web.orders.OfferAlternatives(O.OfferAlternativesRequest(
        request_id=rid(), order_id=order.order_id, line_no=1, notify_customer=True))
    first, second = (local(app, a.url) for a in offered.alternatives)
    mailings = await admin.mailings.ListMailings(mailings_pb2.ListMailingsRequest(
        recipient="+380675550001"))
    [sms] = [m for m in mailings.mailings if "replacement" in m.body]
    assert offered.alternatives[0].url in sms.body and offered.alternatives[1].url in sms.body

    async with aiohttp.ClientSession() as http:
        async with http.get(first) as page:
            assert page.status == 200
            assert "Product 3" in await page.text() and "10.00" in await page.text()
        forged = first[:-3] + ("AAA" if not first.endswith("AAA") else "BBB")
        async with http.post(forged) as page:
            assert page.status == 403
        # two clicks at once: one replacement
        a, b = await asyncio.gather(http.post(first), http.post(first))
        assert sorted([a.status, b.status]) == [200, 410]
        async with http.post(second) as page:  # the line's other link is closed with it
            assert page.status == 410
        async with http.get(first) as page:
            assert page.status == 410
    got = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    by_no = {x.line_no: x for x in got.lines}
    assert by_no[1].state == O.ORDER_LINE_STATE_CANCELLED
    assert by_no[3].sku == "sku-03" and by_no[3].replaces_line_no == 1
    assert by_no[3].quantity_milli == 2000 and by_no[3].unit_price_minor == 1000
    assert got.history[-1].action == "replace_line"
    assert got.history[-1].principal == "customer:link"
    assert got.version == 2


async def test_an_expired_link_does_nothing(app, admin, make_key, client_for):
    web, order = await world(app, admin, make_key, client_for)
    offered = await web.orders.OfferAlternatives(O.OfferAlternativesRequest(
        request_id=rid(), order_id=order.order_id, line_no=1, ttl_seconds=1))
    await asyncio.sleep(1.1)
    async with aiohttp.ClientSession() as http, \
            http.post(local(app, offered.alternatives[0].url)) as page:
        assert page.status == 410
    got = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert got.version == 1 and len(got.lines) == 2
