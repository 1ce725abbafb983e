"""The console's online orders over plain HTTP: the list's filters and keyset pages, an
order's page (lines, history, store requests, payments), actions through the RPCs with CSRF,
version and audit, refusals without the right; a member's orders and certificates."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import aiohttp
from kopilka.v1 import audit_pb2, payments_pb2, receipts_pb2

from tests.e2e.console_support import base_url, http_login, make_user, settings
from tests.e2e.orders_support import (
    WEB,
    O,
    balance,
    lines,
    member_with_points,
    place,
    rid,
    setup_shop,
)

__all__ = ["settings"]


def jar() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def shop_with_orders(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    """Three orders of one member (W-1 confirmed, W-2 and W-3 placed, 300 points on W-3)."""
    await setup_shop(app, admin)
    web = client_for(await make_key("store_backend", store_code=WEB))
    member_id, card = await member_with_points(admin, "+380671234500", 1000)
    placed = []
    for n in (1, 2, 3):
        reply = await web.orders.PlaceOrder(place(
            O.Customer(card_number=card), lines(("sku-01", 1000, 5000), ("sku-02", 2000, 1000)),
            number=f"W-{n}", points=300 if n == 3 else 0))
        placed.append(reply.order)
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=rid(), order_id=placed[0].order_id, expected_version=1, reason="all there"))
    return web, member_id, card, placed


def numbers(html: str) -> list[str]:
    return re.findall(r'href="/console/orders/[0-9a-f-]+">(W-\d+)<', html)


async def test_the_list_filters_by_state_store_and_date_in_keyset_pages(
        app, admin, make_key, client_for, monkeypatch):
    from server.console import orders

    await shop_with_orders(app, admin, make_key, client_for)
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    async with jar() as http:
        await http_login(http, url, "anna@shop.ua")
        async with http.get(url + "/orders") as page:
            assert page.status == 200
            html = await page.text()
        assert numbers(html) == ["W-3", "W-2", "W-1"]  # newest first
        assert 'href="/console/orders"' in html  # in the nav
        async with http.get(url + "/orders?state=confirmed") as page:
            assert numbers(await page.text()) == ["W-1"]
        async with http.get(url + "/orders?state=placed&store=" + WEB) as page:
            assert numbers(await page.text()) == ["W-3", "W-2"]
        async with http.get(url + "/orders?store=lviv-01") as page:
            assert numbers(await page.text()) == []
        tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
        today = dt.datetime.now(dt.UTC).date().isoformat()
        async with http.get(f"{url}/orders?from={tomorrow}") as page:
            assert numbers(await page.text()) == []
        async with http.get(f"{url}/orders?from={today}&to={today}") as page:
            assert len(numbers(await page.text())) == 3
        monkeypatch.setattr(orders, "PAGE", 2)
        async with http.get(url + "/orders?state=placed") as page:
            html = await page.text()
        assert numbers(html) == ["W-3", "W-2"]
        async with http.get(url + "/orders") as page:
            html = await page.text()
        assert numbers(html) == ["W-3", "W-2"]
        more = re.search(r'id="next" href="([^"]+)"', html)
        assert more
        async with http.get(more.group(1).replace("&amp;", "&").replace(
                "/console", url, 1)) as page:
            html = await page.text()
        assert numbers(html) == ["W-1"] and 'id="next"' not in html


async def test_cancel_from_the_order_page_goes_through_the_rpc(
        app, admin, make_key, client_for):
    _, member_id, card, placed = await shop_with_orders(app, admin, make_key, client_for)
    order = placed[2]  # 300 points reserved
    assert await balance(admin, card) == 700
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    page_url = f"{url}/orders/{order.order_id}"
    async with jar() as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        async with http.get(page_url) as page:
            html = await page.text()
        assert page.status == 200
        for part in ("W-3", "sku-01", "Product 1", 'id="history"', "place",
                     f'action="/console/orders/{order.order_id}/cancel"',
                     f'action="/console/orders/{order.order_id}/confirm"',
                     f'href="/console/members/{member_id}"'):
            assert part in html, part
        assert "/complete" not in html  # a placed order cannot be handed over
        form = {"request_id": str(uuid.uuid4()), "expected_version": "1",
                "reason": "customer called"}
        for token in ("", "0" * 64):  # no CSRF token, or a wrong one: nothing changes
            async with http.post(page_url + "/cancel", data={**form, "csrf": token}) as no:
                assert no.status == 403
        async with http.post(page_url + "/cancel", data={
                **form, "csrf": csrf, "reason": ""}) as bad:  # the reason is required
            assert bad.status == 400 and "<code>reason</code>" in await bad.text()
        async with http.post(page_url + "/cancel", data={
                **form, "csrf": csrf, "expected_version": "7"}) as stale:
            assert stale.status == 409 and "version" in await stale.text()
        got = await admin.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))
        assert got.order.state == O.ORDER_STATE_PLACED and got.order.version == 1
        async with http.post(page_url + "/cancel", data={**form, "csrf": csrf},
                             allow_redirects=False) as done:
            assert done.status == 303 and done.headers["Location"].endswith("?notice=done")
        async with http.post(page_url + "/cancel", data={**form, "csrf": csrf},
                             allow_redirects=False) as again:  # the same request id: once
            assert again.status == 303
        async with http.get(page_url) as page:
            html = await page.text()
        assert 'id="order-state">скасоване<' in html or 'id="order-state">cancelled<' in html
        assert "customer called" in html and "/cancel" not in html  # final: no buttons
    got = await admin.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))
    assert got.order.state == O.ORDER_STATE_CANCELLED and got.order.version == 2
    assert [h.principal for h in got.order.history][-1] == "operator:anna@shop.ua"
    assert await balance(admin, card) == 1000  # the reserved points came back
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="web_order", object_id=order.order_id))
    assert [(e.principal, e.action) for e in trail.entries if e.action != "place"] == \
        [("operator:anna@shop.ua", "CancelOrder")]  # once, though posted twice


async def test_a_line_is_cancelled_and_an_order_handed_over(app, admin, make_key, client_for):
    _, _, _, placed = await shop_with_orders(app, admin, make_key, client_for)
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    async with jar() as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        second = f"{url}/orders/{placed[1].order_id}"
        async with http.post(second + "/lines/2/cancel", data={
                "csrf": csrf, "request_id": rid(), "expected_version": "1",
                "reason": "out of stock"}) as done:
            assert done.status == 200
            html = await done.text()
        assert "out of stock" in html and "/lines/1/cancel" in html
        assert "/lines/2/cancel" not in html
        first = f"{url}/orders/{placed[0].order_id}"
        async with http.get(first) as page:
            assert "/complete" in await page.text()  # confirmed: it can be handed over
        async with http.post(first + "/complete", data={
                "csrf": csrf, "request_id": rid(), "expected_version": "2",
                "reason": ""}) as done:
            assert done.status == 200
    got = await admin.orders.GetOrder(O.GetOrderRequest(order_id=placed[0].order_id))
    assert got.order.state == O.ORDER_STATE_COMPLETED
    got = await admin.orders.GetOrder(O.GetOrderRequest(order_id=placed[1].order_id))
    assert got.order.lines[1].state == O.ORDER_LINE_STATE_CANCELLED


async def test_a_lines_quantity_is_changed_it_is_split_and_replaced(
        app, admin, make_key, client_for):
    _, _, _, placed = await shop_with_orders(app, admin, make_key, client_for)
    order_id = placed[1].order_id  # W-2: sku-01 1 x 50.00, sku-02 2 x 10.00, placed
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    page_url = f"{url}/orders/{order_id}"

    async def lines_now() -> list[tuple[int, str, int, int, int]]:
        got = (await admin.orders.GetOrder(O.GetOrderRequest(order_id=order_id))).order
        return [(x.line_no, x.sku, x.quantity_milli, x.unit_price_minor, x.state)
                for x in got.lines]

    async with jar() as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        async with http.get(page_url) as page:
            html = await page.text()
        for action in ("quantity", "replace", "split"):
            assert f'action="/console/orders/{order_id}/lines/1/{action}"' in html, action
        quantity = {"request_id": rid(), "expected_version": "1", "quantity": "2",
                    "reason": "customer asked"}
        async with http.post(page_url + "/lines/1/quantity", data=quantity) as no:
            assert no.status == 403  # no CSRF token
        async with http.post(page_url + "/lines/1/quantity", data={
                **quantity, "csrf": csrf, "quantity": "two"}) as bad:
            assert bad.status == 400 and "<code>quantity_milli</code>" in await bad.text()
        async with http.post(page_url + "/lines/1/quantity", data={
                **quantity, "csrf": csrf, "expected_version": "5"}) as stale:
            assert stale.status == 409
        assert (await lines_now())[0][2] == 1000  # nothing changed
        for _ in range(2):  # posted twice with one request id: applied once
            async with http.post(page_url + "/lines/1/quantity", data={
                    **quantity, "csrf": csrf}, allow_redirects=False) as done:
                assert done.status == 303, await done.text()
        assert (await lines_now())[0][2] == 2000
        async with http.post(page_url + "/lines/2/split", data={
                "csrf": csrf, "request_id": rid(), "expected_version": "2",
                "quantity": "0,5", "store": "", "reason": ""}) as done:
            assert done.status == 200
        async with http.post(page_url + "/lines/1/replace", data={
                "csrf": csrf, "request_id": rid(), "expected_version": "3",
                "sku": "no-such-sku", "price": "45.50", "quantity": "",
                "reason": "out of stock"}) as bad:
            assert bad.status == 400 and "<code>sku</code>" in await bad.text()
        async with http.post(page_url + "/lines/1/replace", data={
                "csrf": csrf, "request_id": rid(), "expected_version": "3",
                "sku": "sku-03", "price": "45.50", "quantity": "",
                "reason": "out of stock"}) as done:
            assert done.status == 200
            html = await done.text()
        assert "sku-03" in html and "out of stock" in html
    assert await lines_now() == [
        (1, "sku-01", 2000, 5000, O.ORDER_LINE_STATE_CANCELLED),
        (2, "sku-02", 1500, 1000, O.ORDER_LINE_STATE_OPEN),
        (3, "sku-02", 500, 1000, O.ORDER_LINE_STATE_OPEN),
        (4, "sku-03", 2000, 4550, O.ORDER_LINE_STATE_OPEN)]  # the replaced line's quantity
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="web_order", object_id=order_id))
    assert sorted((e.principal, e.action) for e in trail.entries if e.action != "place") == [
        ("operator:anna@shop.ua", a) for a in ("ChangeLineQuantity", "ReplaceLine",
                                               "SplitLine")]


async def test_lines_of_a_handed_over_order_are_returned(app, admin, make_key, client_for):
    _, _, _, placed = await shop_with_orders(app, admin, make_key, client_for)
    order_id = placed[0].order_id  # W-1, confirmed
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    page_url = f"{url}/orders/{order_id}"
    async with jar() as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        async with http.get(page_url) as page:
            assert 'id="do-return"' not in await page.text()  # not handed over yet
        async with http.post(page_url + "/complete", data={
                "csrf": csrf, "request_id": rid(), "expected_version": "2"}) as done:
            assert done.status == 200
            html = await done.text()
        assert 'id="do-return"' in html and 'name="return_1"' in html
        assert "/lines/1/quantity" not in html  # a handed-over order's lines stay as they are
        form = {"csrf": csrf, "request_id": rid(), "expected_version": "3",
                "return_1": "1", "return_2": "", "reason": "damaged"}
        async with http.post(page_url + "/return", data={**form, "reason": ""}) as bad:
            assert bad.status == 400 and "<code>reason</code>" in await bad.text()
        async with http.post(page_url + "/return", data={**form, "return_1": "3"}) as bad:
            assert bad.status == 400 and "returns[0].quantity_milli" in await bad.text()
        async with http.post(page_url + "/return", data={
                **form, "return_1": "", "return_2": "x"}) as bad:
            assert bad.status == 400 and "returns[0].quantity_milli" in await bad.text()
        async with http.post(page_url + "/return", data=form) as done:
            assert done.status == 200
            html = await done.text()
        assert 'name="return_1"' not in html and 'name="return_2"' in html  # line 2 is left
    got = (await admin.orders.GetOrder(O.GetOrderRequest(order_id=order_id))).order
    assert [(x.state, x.returned_quantity_milli) for x in got.lines] == [
        (O.ORDER_LINE_STATE_RETURNED, 1000), (O.ORDER_LINE_STATE_CONFIRMED, 0)]
    assert got.state == O.ORDER_STATE_COMPLETED and got.version == 4
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="web_order", object_id=order_id))
    assert ("operator:anna@shop.ua", "ReturnLines") in [
        (e.principal, e.action) for e in trail.entries]


async def test_without_the_right_the_pages_and_actions_are_refused(
        app, admin, make_key, client_for):
    placed = (await shop_with_orders(app, admin, make_key, client_for))[3]
    await make_user(app, "ext@shop.ua", "integrator")  # no online-order rights at all
    await make_user(app, "kasa@shop.ua", "cashier")  # reads orders, may not change them
    url = base_url(app)
    order_url = f"{url}/orders/{placed[1].order_id}"
    async with jar() as http:
        await http_login(http, url, "ext@shop.ua")
        for path in ("/orders", f"/orders/{placed[1].order_id}"):
            async with http.get(url + path) as refused:
                assert refused.status == 403
    async with jar() as http:
        csrf = await http_login(http, url, "kasa@shop.ua")
        async with http.get(order_url) as page:
            html = await page.text()
        assert page.status == 200 and "W-2" in html
        assert "/cancel" not in html and "/confirm" not in html  # no buttons without the right
        assert "/lines/1/quantity" not in html and "/return" not in html
        for action in ("cancel", "confirm", "lines/1/cancel", "lines/1/quantity",
                       "lines/1/replace", "lines/1/split", "return"):
            async with http.post(f"{order_url}/{action}", data={
                    "csrf": csrf, "request_id": rid(), "expected_version": "1",
                    "reason": "x", "quantity": "1", "sku": "sku-03", "price": "1",
                    "return_1": "1"}) as refused:
                assert refused.status == 403, action
    got = await admin.orders.GetOrder(O.GetOrderRequest(order_id=placed[1].order_id))
    assert got.order.state == O.ORDER_STATE_PLACED and got.order.version == 1


async def test_payments_and_the_members_orders_and_certificates(
        app, admin, make_key, client_for):
    from tests.e2e.certificates_helpers import issue, money_type, upsert_type
    from tests.e2e.ledger_support import Member, calculation, line
    from tests.e2e.payments_support import pay, split_order, two_entities

    P = payments_pb2
    await setup_shop(app, admin)
    await two_entities(admin)
    await upsert_type(admin, money_type())
    [cert, other] = await issue(admin, count=2, denomination=50000)
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, card = await split_order(admin, web)
    await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_CERTIFICATE, 24690, "shop", cert.number),
            pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 8000, "fop")]))
    # a till receipt of the same member, paid partly with the other certificate
    member = Member(order.member_id, card)
    await admin.receipts.ConfirmReceipt(receipts_pb2.ConfirmReceiptRequest(
        request_id=rid(), receipt_number="R-1",
        calculation_id=calculation(app, member, [line(1, 3000)], store="kyiv-01"),
        payments=[receipts_pb2.Payment(method=receipts_pb2.PAYMENT_METHOD_CERTIFICATE,
                                       amount_minor=1000, certificate_number=other.number),
                  receipts_pb2.Payment(method=receipts_pb2.PAYMENT_METHOD_CASH,
                                       amount_minor=2000)]))
    await make_user(app, "anna@shop.ua", "operator")
    await make_user(app, "ext@shop.ua", "integrator")
    url = base_url(app)
    async with jar() as http:
        await http_login(http, url, "anna@shop.ua")
        async with http.get(f"{url}/orders/{order.order_id}") as page:
            html = await page.text()
        payments = html[html.index('id="payments"'):]
        assert cert.number in payments and "246.90" in payments and "80.00" in payments
        assert "shop" in payments and "fop" in payments
        async with http.get(f"{url}/members/{order.member_id}") as page:
            html = await page.text()
        orders = html[html.index('id="member-orders"'):]
        assert f'href="/console/orders/{order.order_id}"' in orders
        certificates = html[html.index('id="member-certificates"'):]
        assert cert.number in certificates and other.number in certificates
        assert "-246.90" in certificates and "-10.00" in certificates
    async with jar() as http:  # no order or certificate rights: neither shows
        await http_login(http, url, "ext@shop.ua")
        async with http.get(f"{url}/members/{order.member_id}") as page:
            html = await page.text()
        assert page.status == 200
        assert 'id="member-orders"' not in html and 'id="member-certificates"' not in html


async def test_asking_alternatives_and_exchange_need_csrf_and_the_right_and_run_once(
        app, admin, make_key, client_for):
    _, _, _, placed = await shop_with_orders(app, admin, make_key, client_for)
    order_id = placed[1].order_id  # W-2, placed: two open lines
    await make_user(app, "anna@shop.ua", "operator")
    await make_user(app, "kasa@shop.ua", "cashier")
    url = base_url(app)
    page_url = f"{url}/orders/{order_id}"
    ask = {"request_id": rid(), "expected_version": "1", "store_1": "kyiv-01",
           "store_2": "lviv-01", "deadline_minutes": "15", "reason": ""}
    async with jar() as http:
        csrf = await http_login(http, url, "kasa@shop.ua")
        for action in ("ask", "lines/1/alternatives", "exchange"):
            async with http.post(f"{page_url}/{action}", data={**ask, "csrf": csrf}) as no:
                assert no.status == 403, action
    async with jar() as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        async with http.post(page_url + "/ask", data=ask) as no:
            assert no.status == 403  # no CSRF token
        async with http.post(page_url + "/ask", data={
                **ask, "csrf": csrf, "store_2": "nowhere-01"}) as bad:
            assert bad.status == 400 and "asks[1].store_code" in await bad.text()
        for _ in range(2):  # one request id posted twice: one round
            async with http.post(page_url + "/ask", data={**ask, "csrf": csrf},
                                 allow_redirects=False) as done:
                assert done.status == 303, await done.text()
        async with http.post(page_url + "/lines/1/alternatives", data={
                "csrf": csrf, "request_id": rid(), "max": "many"}) as bad:
            assert bad.status == 400 and "max_alternatives" in await bad.text()
        async with http.post(page_url + "/exchange", data={  # a placed order: not yet
                "csrf": csrf, "request_id": rid(), "expected_version": "2",
                "return_1": "1", "new_sku_0": "sku-03", "new_quantity_0": "1",
                "new_price_0": "1", "settlement": "payment", "reason": "x"}) as refused:
            assert refused.status == 409
    got = (await admin.orders.GetOrder(O.GetOrderRequest(order_id=order_id))).order
    assert got.version == 2 and [(r.round, r.store_code) for r in got.store_requests] == [
        (1, "kyiv-01"), (1, "lviv-01")]
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="web_order", object_id=order_id))
    assert [(e.principal, e.action) for e in trail.entries if e.action != "place"] == [
        ("operator:anna@shop.ua", "AskStores")]
