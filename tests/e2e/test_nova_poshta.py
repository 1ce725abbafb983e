"""Nova Poshta waybills: one per legal entity of a confirmed order, from the entity's own
sender, with cash on delivery as backward delivery; cancelled by delete; a jobs step tracks
them and moves the order (received: completed; refused or returned: cancelled) with the
customer told and a web_order.delivery_changed event. Nova Poshta is tests/novaposhta_peer.py."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from server.features.jobs import run_all_jobs
from server.settings import Settings
from tests.e2e.orders_support import WEB, O, balance, lines, member_with_points, place, setup_shop
from tests.e2e.payments_support import FOP, SHOP, P, pay, rid, two_entities
from tests.helpers import rpc_error
from tests.novaposhta_peer import FakeNovaPoshta

KEY = "0123456789abcdef0123456789abcdef"
CITY = "db5c88e0-391c-11dd-90d9-001a92567626"
WAREHOUSE = "1ec09d88-e1c2-11e3-8c4a-0050568002cf"


@pytest.fixture
async def novaposhta():  # type: ignore[no-untyped-def]
    peer = FakeNovaPoshta(KEY)
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
def settings(tmp_path, novaposhta) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
                    plugin_settings={"novaposhta": {"api_key": KEY, "api_url": novaposhta.url,
                                                    "retries": 0}})


async def np_order(admin, web, phone: str, points: int = 0):  # type: ignore[no-untyped-def]
    _, card = await member_with_points(admin, phone, points)
    delivery = O.Delivery(kind=O.DELIVERY_KIND_NOVA_POSHTA, address=O.Address(
        city="Київ", nova_poshta_branch="Відділення №1", recipient_name="Коваленко Олена",
        recipient_phone=phone))
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card, language="uk"),
        lines(("sku-01", 2000, 12345), ("sku-02", 1000, 8000)), delivery=delivery,
        number=f"NP-{phone[-4:]}"))).order
    return order, card


def ship(order_id: str) -> P.CreateWaybillsRequest:
    return P.CreateWaybillsRequest(request_id=rid(), order_id=order_id, city_ref=CITY,
                                   warehouse_ref=WAREHOUSE, weight_grams=1500)


async def events(app, state: str) -> list[dict]:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        rows = (await session.execute(text(
            "SELECT payload FROM outbox WHERE kind = 'event' AND event_type = "
            "'web_order.delivery_changed' ORDER BY id"))).all()
    return [r.payload for r in rows if r.payload["state"] == state]


async def jobs(app, settings):  # type: ignore[no-untyped-def]
    done = await run_all_jobs(app.db, dt.datetime.now(dt.UTC), settings)
    assert done is not None and done.failed == {}
    return done.counts["waybills_tracked"]


async def test_waybills_per_entity_with_cash_on_delivery_tracked_to_completion(
        app, admin, make_key, client_for, novaposhta, settings):
    await setup_shop(app, admin)
    await two_entities(admin)
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, card = await np_order(admin, web, "+380671230001", points=10_000)
    await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 24690, "shop"),
            pay(P.ORDER_PAYMENT_METHOD_POINTS, 8000, "fop")]))
    with rpc_error() as failure:  # not confirmed yet: not ready, nothing sent
        await web.payments.CreateWaybills(ship(order.order_id))
    assert (failure.reason, failure.metadata["state"]) == ("ORDER_NOT_READY", "placed")
    assert novaposhta.calls == []
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1))

    made = (await web.payments.CreateWaybills(ship(order.order_id))).waybills
    assert sorted((w.entity_code, w.state, w.cod_minor) for w in made) == [
        ("fop", "created", 0), ("shop", "created", 24690)]
    saved = {s["Sender"]: s for s in novaposhta.saved()}
    shop, fop = saved[SHOP.nova_poshta.sender_ref], saved[FOP.nova_poshta.sender_ref]
    assert (shop["CitySender"], shop["SenderAddress"], shop["ContactSender"],
            shop["SendersPhone"]) == (SHOP.nova_poshta.city_ref, SHOP.nova_poshta.address_ref,
                                      SHOP.nova_poshta.contact_ref, SHOP.nova_poshta.phone)
    assert fop["SendersPhone"] == FOP.nova_poshta.phone
    assert shop["BackwardDeliveryData"] == [{"PayerType": "Recipient", "CargoType": "Money",
                                             "RedeliveryString": "246.9"}]
    assert "BackwardDeliveryData" not in fop
    assert (shop["Cost"], fop["Cost"], shop["Weight"]) == ("246.9", "80", "1.5")
    assert (shop["CityRecipient"], shop["RecipientAddress"], shop["RecipientsPhone"]) == (
        CITY, WAREHOUSE, "380671230001")
    assert len(await events(app, "created")) == 2

    # cancel the fop waybill (InternetDocument.delete), then make it again
    fop_bill = next(w for w in made if w.entity_code == "fop")
    cancelled = await web.payments.CancelWaybill(P.CancelWaybillRequest(
        request_id=rid(), waybill_id=fop_bill.waybill_id, reason="wrong weight"))
    assert cancelled.waybill.state == "deleted"
    assert novaposhta.status[fop_bill.number] == "2"
    with rpc_error() as failure:
        await web.payments.CancelWaybill(P.CancelWaybillRequest(
            request_id=rid(), waybill_id=fop_bill.waybill_id, reason="again"))
    assert failure.reason == "WAYBILL_STATE_CONFLICT"
    again = (await web.payments.CreateWaybills(ship(order.order_id))).waybills
    assert len(novaposhta.saved()) == 3 and len(again) == 2
    shop_bill = next(w for w in again if w.entity_code == "shop")
    fop_bill = next(w for w in again if w.entity_code == "fop")

    # on the way: nothing moves; the shop's parcel received: its cash on delivery is paid,
    # the order waits for the other parcel; both received: completed
    novaposhta.status[shop_bill.number] = "7"
    assert await jobs(app, settings) == 0
    novaposhta.status[shop_bill.number] = "9"
    assert await jobs(app, settings) == 1
    got = (await web.payments.GetOrderPayments(P.GetOrderPaymentsRequest(
        order_id=order.order_id))).payments
    assert got.payment_state == "paid"
    current = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert current.state == O.ORDER_STATE_CONFIRMED
    novaposhta.status[fop_bill.number] = "9"
    assert await jobs(app, settings) == 1
    assert await jobs(app, settings) == 0  # nothing live is left to ask about
    current = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert current.state == O.ORDER_STATE_COMPLETED
    assert current.history[-1].reason == f"received at Nova Poshta ({fop_bill.number})"
    listed = (await web.payments.ListWaybills(P.ListWaybillsRequest(
        order_id=order.order_id))).waybills
    assert sorted(w.state for w in listed) == ["deleted", "received", "received"]
    assert [e["waybill_number"] for e in await events(app, "received")] == [
        shop_bill.number, fop_bill.number]
    async with app.db.transaction() as session:
        told = (await session.execute(text(
            "SELECT body FROM mailings WHERE reference = :r"),
            {"r": f"waybill:{shop_bill.waybill_id}"})).scalars().all()
    assert told == [f"Замовлення {order.external_number}: відправлення {shop_bill.number} "
                    "отримано. Дякуємо!"]
    # the 8,000 points paid, and the order's accrual booked at completion
    assert current.points_accrued == sum(x.points_to_accrue for x in order.lines) > 0
    assert await balance(admin, card) == 2_000 + current.points_accrued


async def test_a_refused_parcel_cancels_the_order_and_its_cash_on_delivery(
        app, admin, make_key, client_for, novaposhta, settings):
    await setup_shop(app, admin)
    await two_entities(admin)
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, card = await np_order(admin, web, "+380671230002", points=10_000)
    await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 24690, "shop"),
            pay(P.ORDER_PAYMENT_METHOD_POINTS, 8000, "fop")]))
    assert await balance(admin, card) == 2_000
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1))
    made = (await web.payments.CreateWaybills(ship(order.order_id))).waybills
    shop_bill = next(w for w in made if w.entity_code == "shop")
    novaposhta.status[shop_bill.number] = "103"
    assert await jobs(app, settings) == 1
    current = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert current.state == O.ORDER_STATE_CANCELLED
    got = (await web.payments.GetOrderPayments(P.GetOrderPaymentsRequest(
        order_id=order.order_id))).payments
    # cash on delivery failed; the points paid for the cancelled order came back
    assert {p.entity_code: p.state for p in got.payments} == {
        "shop": P.PAYMENT_STATE_FAILED, "fop": P.PAYMENT_STATE_REVERSED}
    assert await balance(admin, card) == 10_000
    [refused] = await events(app, "refused")
    assert (refused["waybill_number"], refused["status_code"]) == (shop_bill.number, "103")
    with rpc_error() as failure:  # a cancelled order is not shipped again
        await web.payments.CreateWaybills(ship(order.order_id))
    assert failure.reason == "ORDER_NOT_READY"


async def test_a_failed_call_deletes_the_waybills_it_made_at_nova_poshta(
        app, admin, make_key, client_for, novaposhta, settings):
    """Two entities: the second waybill is refused, so the call keeps nothing; the first
    one, already made at Nova Poshta, is deleted there, and a retry makes each once."""
    await setup_shop(app, admin)
    await two_entities(admin)
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, _ = await np_order(admin, web, "+380671230003")
    await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 24690, "shop"),
            pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 8000, "fop")]))
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1))
    novaposhta.refuse_senders = {SHOP.nova_poshta.sender_ref}  # "fop" sorts first: made
    request = ship(order.order_id)
    with rpc_error() as failure:
        await web.payments.CreateWaybills(request)
    assert failure.reason == "SHIPMENT_PROVIDER_FAILED"
    made = [doc["IntDocNumber"] for doc in novaposhta.documents.values()]
    assert len(made) == 1 and novaposhta.status[made[0]] == "2"  # deleted again
    assert (await web.payments.ListWaybills(P.ListWaybillsRequest(
        order_id=order.order_id))).waybills == []
    novaposhta.refuse_senders = set()
    again = (await web.payments.CreateWaybills(request)).waybills  # the same request id
    assert sorted(w.entity_code for w in again) == ["fop", "shop"]
    live = [n for n, status in novaposhta.status.items() if status != "2"]
    assert sorted(live) == sorted(w.number for w in again)
