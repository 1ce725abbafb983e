"""Online-store orders end to end: placing, pricing, actions, history, versions, scope."""

from __future__ import annotations

import json

import grpc
from kopilka.v1 import mailings_pb2, receipts_pb2

from tests.e2e.orders_support import (
    PICKUP,
    WEB,
    O,
    balance,
    lines,
    member_with_points,
    place,
    rid,
    setup_shop,
)
from tests.helpers import rpc_error


async def shop(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    await setup_shop(app, admin)
    return client_for(await make_key("store_backend", store_code=WEB))


async def test_place_order_is_priced_like_a_receipt_and_reserves_points(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380671110001", 5000)
    order_lines = lines(("sku-01", 2000, 4550), ("sku-02", 1500, 1000), ("sku-03", 1000, 3000))
    request = place(O.Customer(card_number=card), order_lines, points=1000)
    reply = await web.orders.PlaceOrder(request)
    order = reply.order
    assert not reply.member_registered
    assert order.state == O.ORDER_STATE_PLACED and order.version == 1
    assert order.store_code == WEB and order.card_number == card
    assert order.delivery.kind == O.DELIVERY_KIND_PICKUP
    assert order.delivery.pickup_store_code == PICKUP and order.comment == "call first"

    # The same lines at CalculateReceipt (same store, card and points) cost the same
    calc = await admin.receipts.CalculateReceipt(receipts_pb2.CalculateReceiptRequest(
        store_code=WEB, card_number=card, pay_with_points=1000, lines=[
            receipts_pb2.ReceiptLine(line_no=x.line_no, sku=x.sku, quantity_milli=x.quantity_milli,
                                     unit_price_minor=x.unit_price_minor) for x in order_lines]))
    assert order.total.amount_minor == calc.total.amount_minor
    assert order.subtotal.amount_minor == calc.subtotal.amount_minor
    assert [x.final_amount_minor for x in order.lines] == \
        [x.final_amount_minor for x in calc.lines]
    assert sum(x.points_paid for x in order.lines) == calc.points_redeemed == 1000
    assert order.points_reserved == 1000 and order.points_requested == 1000
    assert sum(x.points_to_accrue for x in order.lines) == calc.points_to_accrue
    assert [x.name for x in order.lines] == ["Product 1", "Product 2", "Product 3"]
    assert order.lines[0].group_code == "dairy" and order.lines[0].brand == "Brand A"
    assert all(x.state == O.ORDER_LINE_STATE_OPEN for x in order.lines)
    # the points left the balance: they cannot be spent twice
    assert await balance(admin, card) == 4000
    [entry] = order.history
    assert entry.version == 1 and entry.action == "place" and entry.principal
    assert json.loads(entry.detail_json)["points_reserved"] == 1000

    again = await web.orders.PlaceOrder(request)  # same request id: the first answer
    assert again.order.order_id == order.order_id
    assert await balance(admin, card) == 4000

    got = await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))
    assert got.order == order


async def test_customer_found_by_phone_or_registered_with_an_address(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    member_id, card = await member_with_points(admin, "+380671110002", 0)
    found = await web.orders.PlaceOrder(place(O.Customer(phone="067 111 00 02"),
                                              lines(("sku-01", 1000, 100))))
    assert found.order.member_id == member_id and found.order.card_number == card
    assert not found.member_registered

    courier = O.Delivery(kind=O.DELIVERY_KIND_COURIER, address=O.Address(
        city="Kyiv", street="Khreshchatyk 1", recipient_name="Ivan"))
    new = await web.orders.PlaceOrder(place(
        O.Customer(email="New@Example.com", first_name="Ivan", issue_card_type="silver",
                   language="en"), lines(("sku-02", 1000, 100)), delivery=courier, number="W-2"))
    assert new.member_registered and new.order.card_number
    assert new.order.language == "en"
    address = new.order.delivery.address
    assert address.address_id and address.city == "Kyiv"
    # the address is kept on the member: the next order uses it by id
    reuse = O.Delivery(kind=O.DELIVERY_KIND_NOVA_POSHTA,
                       address=O.Address(address_id=address.address_id))
    third = await web.orders.PlaceOrder(place(O.Customer(email="new@example.com"),
                                              lines(("sku-03", 1000, 100)), delivery=reuse,
                                              number="W-3"))
    assert third.order.member_id == new.order.member_id
    assert third.order.delivery.address.street == "Khreshchatyk 1"
    # another member cannot use it
    with rpc_error() as failure:
        await web.orders.PlaceOrder(place(O.Customer(card_number=card),
                                          lines(("sku-03", 1000, 100)), delivery=reuse))
    assert failure.fields == ["delivery.address.address_id"]

    mine = await web.orders.ListOrders(O.ListOrdersRequest(member_id=new.order.member_id))
    assert [o.external_number for o in mine.orders] == ["W-3", "W-2"]


async def test_bad_input_names_the_field_and_changes_nothing(app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380671110003", 100)
    customer = O.Customer(card_number=card)
    with rpc_error() as failure:
        await web.orders.PlaceOrder(place(customer, lines(("nope", 1000, 100))))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "PRODUCT_NOT_FOUND" and failure.fields == ["lines[0].sku"]
    with rpc_error() as failure:
        await web.orders.PlaceOrder(place(customer, lines(("sku-01", 0, 100))))
    assert failure.fields == ["lines[0].quantity_milli"]
    with rpc_error() as failure:
        await web.orders.PlaceOrder(place(customer, lines(("sku-01", 1000, 100)),
                                          delivery=O.Delivery(kind=O.DELIVERY_KIND_PICKUP,
                                                              pickup_store_code="nowhere")))
    assert failure.reason == "STORE_NOT_FOUND"
    assert failure.fields == ["delivery.pickup_store_code"]
    with rpc_error() as failure:
        await web.orders.PlaceOrder(place(customer, lines(("sku-01", 1000, 100)),
                                          delivery=O.Delivery(kind=O.DELIVERY_KIND_COURIER)))
    assert set(failure.fields) == {"delivery.address.city", "delivery.address.street"}
    with rpc_error() as failure:  # a store-bound key places only for its own store
        await web.orders.PlaceOrder(O.PlaceOrderRequest(
            request_id=rid(), store_code=PICKUP, external_number="x", customer=customer,
            lines=lines(("sku-01", 1000, 100)),
            delivery=O.Delivery(kind=O.DELIVERY_KIND_PICKUP, pickup_store_code=PICKUP)))
    assert failure.fields == ["store_code"]
    with rpc_error() as failure:
        await web.orders.PlaceOrder(place(customer, lines(("sku-01", 1000, 1000)), points=-5))
    assert failure.fields == ["points_to_spend"]
    listed = await admin.orders.ListOrders(O.ListOrdersRequest())
    assert list(listed.orders) == []
    assert await balance(admin, card) == 100


async def test_actions_follow_the_state_machine_with_versions_and_history(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380671110004", 0)
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card),
        lines(("sku-01", 2000, 1000), ("sku-02", 3000, 500), ("sku-03", 1000, 700))))).order
    oid = order.order_id

    changed = (await web.orders.ChangeLineQuantity(O.ChangeLineQuantityRequest(
        request_id=rid(), order_id=oid, expected_version=1, line_no=1, quantity_milli=3000,
        reason="customer called"))).order
    assert changed.version == 2 and changed.lines[0].quantity_milli == 3000
    assert changed.lines[0].base_amount_minor == 3000
    with rpc_error() as failure:  # a stale version is refused
        await web.orders.CancelLine(O.CancelLineRequest(
            request_id=rid(), order_id=oid, expected_version=1, line_no=2, reason="x"))
    assert failure.code == grpc.StatusCode.ABORTED
    assert failure.reason == "ORDER_VERSION_CONFLICT"
    assert failure.metadata == {"expected": "1", "actual": "2"}

    split = await web.orders.SplitLine(O.SplitLineRequest(
        request_id=rid(), order_id=oid, expected_version=2, line_no=2, quantity_milli=1000,
        store_code="lviv-01", reason="two stores"))
    assert split.new_line_no == 4
    by_no = {x.line_no: x for x in split.order.lines}
    assert by_no[2].quantity_milli == 2000 and by_no[4].quantity_milli == 1000
    assert by_no[4].split_from_line_no == 2 and by_no[4].store_code == "lviv-01"
    assert split.order.total.amount_minor == order.total.amount_minor + 1000

    replaced = await web.orders.ReplaceLine(O.ReplaceLineRequest(
        request_id=rid(), order_id=oid, expected_version=3, line_no=3, sku="sku-05",
        unit_price_minor=650, reason="out of stock"))
    by_no = {x.line_no: x for x in replaced.order.lines}
    assert by_no[3].state == O.ORDER_LINE_STATE_CANCELLED
    assert by_no[5].sku == "sku-05" and by_no[5].replaces_line_no == 3
    assert by_no[5].quantity_milli == 1000

    cancelled = (await web.orders.CancelLine(O.CancelLineRequest(
        request_id=rid(), order_id=oid, expected_version=4, line_no=4,
        reason="not wanted"))).order
    assert {x.line_no for x in cancelled.lines if x.state == O.ORDER_LINE_STATE_OPEN} == \
        {1, 2, 5}
    assert cancelled.total.amount_minor == 3000 + 1000 + 650

    with rpc_error() as failure:  # not confirmed yet: cannot complete
        await web.orders.CompleteOrder(O.CompleteOrderRequest(
            request_id=rid(), order_id=oid, expected_version=5))
    assert failure.reason == "ORDER_STATE_CONFLICT"
    assert failure.metadata == {"state": "placed", "action": "complete"}
    with rpc_error() as failure:
        await web.orders.ChangeLineQuantity(O.ChangeLineQuantityRequest(
            request_id=rid(), order_id=oid, expected_version=5, line_no=3,
            quantity_milli=1000))
    assert failure.reason == "ORDER_LINE_STATE_CONFLICT"
    with rpc_error() as failure:
        await web.orders.ChangeLineQuantity(O.ChangeLineQuantityRequest(
            request_id=rid(), order_id=oid, expected_version=5, line_no=99,
            quantity_milli=1000))
    assert failure.reason == "ORDER_LINE_NOT_FOUND" and failure.fields == ["line_no"]

    confirmed = (await web.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=rid(), order_id=oid, expected_version=5))).order
    assert confirmed.state == O.ORDER_STATE_CONFIRMED
    done = (await web.orders.CompleteOrder(O.CompleteOrderRequest(
        request_id=rid(), order_id=oid, expected_version=6))).order
    assert done.state == O.ORDER_STATE_COMPLETED and done.version == 7
    assert [(h.version, h.action) for h in done.history] == [
        (1, "place"), (2, "change_quantity"), (3, "split_line"), (4, "replace_line"),
        (5, "cancel_line"), (6, "confirm"), (7, "complete")]
    assert [h.reason for h in done.history][1:5] == [
        "customer called", "two stores", "out of stock", "not wanted"]
    assert done.history[6].state == O.ORDER_STATE_COMPLETED
    with rpc_error() as failure:
        await web.orders.CancelOrder(O.CancelOrderRequest(
            request_id=rid(), order_id=oid, expected_version=7, reason="late"))
    assert failure.reason == "ORDER_STATE_CONFLICT"


async def test_orders_of_another_store_are_unknown(app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380671110005", 0)
    order = (await web.orders.PlaceOrder(place(O.Customer(card_number=card),
                                               lines(("sku-01", 1000, 100))))).order
    other = client_for(await make_key("store_backend", store_code=PICKUP))
    with rpc_error() as failure:
        await other.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))
    assert failure.reason == "ORDER_NOT_FOUND"
    with rpc_error() as failure:
        await other.orders.CancelOrder(O.CancelOrderRequest(
            request_id=rid(), order_id=order.order_id, expected_version=1, reason="x"))
    assert failure.reason == "ORDER_NOT_FOUND"
    assert list((await other.orders.ListOrders(O.ListOrdersRequest())).orders) == []



async def test_list_orders_by_store_and_period_within_the_callers_scope(
        app, admin, make_key, client_for):
    from google.protobuf.timestamp_pb2 import Timestamp

    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380671110015", 0)
    order = (await web.orders.PlaceOrder(place(O.Customer(card_number=card),
                                               lines(("sku-01", 1000, 100))))).order

    def at(seconds: int) -> Timestamp:
        return Timestamp(seconds=seconds)

    placed = order.create_time.seconds
    listed = await admin.orders.ListOrders(O.ListOrdersRequest(
        store_code=WEB, from_time=at(placed), to_time=at(placed + 1)))
    assert [o.order_id for o in listed.orders] == [order.order_id]
    for request in (O.ListOrdersRequest(store_code=PICKUP),
                    O.ListOrdersRequest(from_time=at(placed + 1)),
                    O.ListOrdersRequest(to_time=at(placed))):
        assert list((await admin.orders.ListOrders(request)).orders) == []
    other = client_for(await make_key("store_backend", store_code=PICKUP))
    asked = await other.orders.ListOrders(O.ListOrdersRequest(store_code=WEB))
    assert list(asked.orders) == []  # naming a store does not widen the key's scope
    with rpc_error() as failure:
        await admin.orders.ListOrders(O.ListOrdersRequest(from_time=at(placed),
                                                          to_time=at(placed)))
    assert failure.fields == ["to_time"]

async def test_every_state_change_queues_a_message_and_an_event(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380671110006", 0)
    order = (await web.orders.PlaceOrder(place(O.Customer(card_number=card, language="en"),
                                               lines(("sku-01", 1000, 12345)),
                                               number="W-77"))).order
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1))
    mailings = await admin.mailings.ListMailings(mailings_pb2.ListMailingsRequest(
        recipient="+380671110006"))
    texts = sorted(m.body for m in mailings.mailings)
    assert texts == ["Order W-77 is confirmed by the store and being prepared.",
                     "Order W-77 received, total 123.45 UAH. Points reserved: 0."]
    async with app.db.engine.connect() as conn:
        from sqlalchemy import text

        rows = (await conn.execute(text(
            "SELECT event_type, payload FROM outbox WHERE kind = 'event' "
            "AND payload->>'order_id' = :o ORDER BY id"), {"o": order.order_id})).all()
    assert [r.event_type for r in rows] == ["web_order.placed", "web_order.confirmed"]
    assert rows[1].payload["previous_state"] == "placed" and rows[1].payload["version"] == 2
