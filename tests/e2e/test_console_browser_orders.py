"""The console's order page in a real browser (Debian's Chromium, as test_console_browser):
asking stores in a round with a deadline, alternatives really in stock for a missing line,
and an exchange; each through its OrderService RPC, bad input named at its field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kopilka.v1 import audit_pb2

from tests.e2e.console_support import base_url, make_user, settings
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
from tests.e2e.test_console_browser import accessible, browser, page, sign_in

__all__ = ["browser", "page", "settings"]
pytestmark = pytest.mark.one_server


async def shop(app, admin, make_key, client_for) -> tuple[Any, Any]:  # type: ignore[no-untyped-def]
    """W-9: line 1 sku-01 (dairy, Brand A) 2 x 10.00, nowhere in stock; line 2 sku-02 1 x
    8.00, held in full at kyiv-01. In stock: sku-03 (dairy A) and sku-05 (dairy B)."""
    await setup_shop(app, admin)
    await admin.orders.SetStock(O.SetStockRequest(request_id=rid(), balances=[
        O.StockBalance(store_code=store, sku=sku, quantity_milli=milli)
        for store, sku, milli in ((PICKUP, "sku-03", 5000), ("lviv-01", "sku-05", 2000),
                                  (PICKUP, "sku-02", 1000), (PICKUP, "sku-06", 9000))]))
    web = client_for(await make_key("store_backend", store_code=WEB))
    _, card = await member_with_points(admin, "+380675550001", 0)
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card), lines(("sku-01", 2000, 1000), ("sku-02", 1000, 800)),
        number="W-9"))).order
    await make_user(app, "anna@shop.ua", "operator")
    return web, order


async def actions_of(admin, order_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="web_order", object_id=order_id))
    return sorted((e.principal, e.action) for e in trail.entries if e.action != "place")


async def test_stores_are_asked_and_alternatives_in_stock_offered(
        app, admin, make_key, client_for, page):
    _, order = await shop(app, admin, make_key, client_for)
    await sign_in(page, app)
    await page.goto(f"{base_url(app)}/orders/{order.order_id}")
    assert "kyiv-01 (1.0)" in await page.locator("#stock-2").inner_text()
    assert await page.locator("#stock-1").inner_text() == "Є в наявності: ніде"
    assert await page.locator("#do-ask input[name=store_2]").input_value() == PICKUP
    await page.fill("#do-ask input[name=deadline_minutes]", "0")  # bad: named, nothing done
    await page.click("#do-ask button")
    assert "deadline_seconds" in await page.locator("#do-ask .field-error").inner_text()
    assert await page.locator("#store-requests").count() == 0
    await page.fill("#do-ask input[name=store_1]", "lviv-01")
    await page.fill("#do-ask input[name=deadline_minutes]", "30")
    before = dt.datetime.now(dt.UTC)
    await page.click("#do-ask button")
    await page.locator("#notice").wait_for()
    text = await page.locator("#store-requests").inner_text()
    assert PICKUP in text and "lviv-01" in text
    got = (await admin.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert sorted((r.round, r.store_code, tuple(x.line_no for x in r.lines))
                  for r in got.store_requests) == [(1, PICKUP, (2,)), (1, "lviv-01", (1,))]
    deadline = got.store_requests[0].deadline_time.ToDatetime(dt.UTC)
    assert dt.timedelta(minutes=29) < deadline - before < dt.timedelta(minutes=31)
    # line 1 is missing: offer what is really in stock, of its group or brand
    await page.click("summary:has-text('Запропонувати заміну') >> nth=0")
    await page.fill("#line-1-alternatives input[name=band]", "500")  # above 100%
    await page.click("#line-1-alternatives button")
    assert "price_band_bps" in await page.locator(".field-error").inner_text()
    await page.click("summary:has-text('Запропонувати заміну') >> nth=0")
    await page.click("#line-1-alternatives button")
    rows = page.locator("#alternatives tbody tr")
    assert [(await r.locator("td").nth(0).inner_text()) for r in await rows.all()] == [
        "sku-03", "sku-05"]
    assert "Product 3" in await page.locator("#alternatives").inner_text()
    await accessible(page)
    assert await actions_of(admin, order.order_id) == [
        ("operator:anna@shop.ua", "AskStores"), ("operator:anna@shop.ua", "OfferAlternatives")]
    assert page.errors == []


async def test_an_exchange_returns_a_line_and_hands_over_a_new_one(
        app, admin, make_key, client_for, page):
    web, order = await shop(app, admin, make_key, client_for)
    for n, (call, kind) in enumerate(((web.orders.ConfirmOrder, O.ConfirmOrderRequest),
                                      (web.orders.CompleteOrder, O.CompleteOrderRequest)), 1):
        await call(kind(request_id=rid(), order_id=order.order_id, expected_version=n))
    await sign_in(page, app)
    await page.goto(f"{base_url(app)}/orders/{order.order_id}")
    form = page.locator("#do-exchange")
    await form.locator("input[name=return_1]").fill("1")
    await form.locator("input[name=new_sku_0]").fill("no-such-sku")
    await form.locator("input[name=new_quantity_0]").fill("1")
    await form.locator("input[name=new_price_0]").fill("9.50")
    await form.locator("select[name=settlement]").select_option("payment")
    await form.locator("input[name=reason]").fill("wrong taste")
    await form.locator("button").click()
    assert "new_lines[0].sku" in await form.locator(".field-error").inner_text()
    got = (await admin.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert got.version == 3 and len(got.lines) == 2  # nothing changed
    await form.locator("input[name=return_1]").fill("1")
    await form.locator("input[name=new_sku_0]").fill("sku-03")
    await form.locator("input[name=new_quantity_0]").fill("1")
    await form.locator("input[name=new_price_0]").fill("9.50")
    await form.locator("select[name=settlement]").select_option("payment")
    await form.locator("input[name=reason]").fill("wrong taste")
    await form.locator("button").click()
    await page.locator("#notice").wait_for()
    assert "sku-03" in await page.locator("#order-lines").inner_text()
    assert "wrong taste" in await page.locator("#history").inner_text()
    await accessible(page)
    got = (await admin.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert [(x.sku, x.state, x.returned_quantity_milli) for x in got.lines] == [
        ("sku-01", O.ORDER_LINE_STATE_CONFIRMED, 1000),
        ("sku-02", O.ORDER_LINE_STATE_CONFIRMED, 0),
        ("sku-03", O.ORDER_LINE_STATE_CONFIRMED, 0)]
    assert got.state == O.ORDER_STATE_COMPLETED and got.version == 4
    assert [a for a in await actions_of(admin, order.order_id)
            if a[0].startswith("operator:anna")] == [("operator:anna@shop.ua", "ExchangeLines")]
    assert page.errors == []
