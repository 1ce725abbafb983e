"""Stock balances (SetStock and the CSV load) and availability with allocation strategies."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from pathlib import Path
from unittest import mock

from kopilka.v1 import admin_pb2

from server.cli import main
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
from tests.helpers import rpc_error

A = O.ALLOCATION_STRATEGY_STORE_PRIORITY


def bal(store: str, sku: str, milli: int) -> O.StockBalance:
    return O.StockBalance(store_code=store, sku=sku, quantity_milli=milli)


async def world(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    await setup_shop(app, admin)
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code="odesa-01", name="Odesa", time_zone="Europe/Kyiv")))
    await admin.orders.SetStock(O.SetStockRequest(request_id=rid(), balances=[
        bal(PICKUP, "sku-01", 1000), bal("lviv-01", "sku-01", 5000),
        bal("odesa-01", "sku-01", 3000), bal("lviv-01", "sku-02", 2000),
        bal("odesa-01", "sku-02", 2000), bal(PICKUP, "sku-02", 500)],
        cities=[O.StoreCity(store_code="odesa-01", city="Odesa"),
                O.StoreCity(store_code="lviv-01", city="Lviv"),
                O.StoreCity(store_code=PICKUP, city="Kyiv")]))
    return client_for(await make_key("store_backend", store_code=WEB))


async def availability(client, order_id: str, strategy: int, *stores: str,  # type: ignore[no-untyped-def]
                       shelf: bool = True) -> O.GetAvailabilityResponse:
    return await client.orders.GetAvailability(O.GetAvailabilityRequest(
        order_id=order_id, strategy=strategy, store_codes=list(stores), virtual_shelf=shelf))


async def test_availability_per_line_and_order_with_each_strategy(
        app, admin, make_key, client_for):
    web = await world(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380673330001", 0)
    courier = O.Delivery(kind=O.DELIVERY_KIND_COURIER,
                         address=O.Address(city="Odesa", street="Derybasivska 1"))
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card), lines(("sku-01", 2000, 100), ("sku-02", 1000, 100)),
        delivery=courier))).order

    got = await availability(web, order.order_id, A, "lviv-01", "odesa-01")
    assert got.available
    first = got.lines[0]
    assert [(s.store_code, s.quantity_milli) for s in first.stores] == [
        (PICKUP, 1000), ("lviv-01", 5000), ("odesa-01", 3000)]
    assert [x.allocated_store_code for x in got.lines] == ["lviv-01", "lviv-01"]
    assert list(got.complete_store_codes) == ["lviv-01", "odesa-01"]

    most = await availability(web, order.order_id, O.ALLOCATION_STRATEGY_MOST_STOCK)
    assert [x.allocated_store_code for x in most.lines] == ["lviv-01", "lviv-01"]
    city = await availability(web, order.order_id, O.ALLOCATION_STRATEGY_CUSTOMER_CITY,
                              "lviv-01")
    assert [x.allocated_store_code for x in city.lines] == ["odesa-01", "odesa-01"]

    # one store short of line 2 everywhere but two: fewest shipments keeps it to one store
    await admin.orders.SetStock(O.SetStockRequest(request_id=rid(), balances=[
        bal("lviv-01", "sku-02", 0)]))
    few = await availability(web, order.order_id, O.ALLOCATION_STRATEGY_FEWEST_SHIPMENTS,
                             "lviv-01")
    assert list(few.allocated_store_codes) == ["odesa-01"]
    prio = await availability(web, order.order_id, A, "lviv-01")
    assert list(prio.allocated_store_codes) == ["lviv-01", "odesa-01"]  # two shipments


async def test_virtual_shelf_lets_the_pickup_store_sell_what_others_hold(
        app, admin, make_key, client_for):
    web = await world(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380673330002", 0)
    order = (await web.orders.PlaceOrder(place(O.Customer(card_number=card),
                                               lines(("sku-01", 2000, 100))))).order
    own = await availability(web, order.order_id, A, shelf=False)
    assert not own.available and own.lines[0].allocated_store_code == ""
    assert not own.lines[0].available
    assert len(own.lines[0].stores) == 3  # where it is, for the operator to see
    shelf = await availability(web, order.order_id, A, shelf=True)
    assert shelf.available and shelf.lines[0].allocated_store_code == "lviv-01"


async def test_set_stock_names_bad_entries_and_writes_nothing(app, admin, make_key, client_for):
    await world(app, admin, make_key, client_for)
    with rpc_error() as failure:
        await admin.orders.SetStock(O.SetStockRequest(request_id=rid(), balances=[
            bal(PICKUP, "sku-03", 1000), bal("nowhere", "sku-03", 1),
            bal(PICKUP, "nothing", 1), bal(PICKUP, "sku-04", -1)]))
    assert failure.fields == ["balances[3].quantity_milli"]
    with rpc_error() as failure:
        await admin.orders.SetStock(O.SetStockRequest(request_id=rid(), balances=[
            bal(PICKUP, "sku-03", 1000), bal("nowhere", "sku-03", 1),
            bal(PICKUP, "nothing", 1)]))
    assert failure.fields == ["balances[1].store_code", "balances[2].sku"]
    async with app.db.engine.connect() as conn:
        from sqlalchemy import text

        count = await conn.scalar(text("SELECT count(*) FROM stock_balances WHERE sku = 'sku-03'"))
    assert count == 0


async def cli(database_url: str, *args: str) -> tuple[int, str]:
    err = io.StringIO()

    def run() -> int:
        with mock.patch.dict(os.environ, {"KOPILKA_DATABASE_URL": database_url}), \
                contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            return main(["orders", "load-stock", *args])

    code = await asyncio.wait_for(asyncio.to_thread(run), timeout=30)
    return code, err.getvalue()


async def test_stock_from_a_csv_file(app, admin, make_key, client_for, database_url,
                                     tmp_path: Path):
    await world(app, admin, make_key, client_for)
    good = tmp_path / "stock.csv"
    good.write_text("sku,store_code,quantity\nsku-05,kyiv-01,2.5\nsku-05,lviv-01,7\n",
                    encoding="utf-8")
    code, err = await cli(database_url, str(good))
    assert code == 0, err
    assert "loaded 2 stock balances" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,store_code,quantity\nsku-06,kyiv-01,1\nsku-06,mars-01,1\n"
                   "sku-06,kyiv-01,1.0001\n", encoding="utf-8")
    code, err = await cli(database_url, str(bad))
    assert code == 2 and "line 4: quantity" in err and "nothing was loaded" in err
    bad.write_text("sku,store_code,quantity\nsku-06,kyiv-01,1\nsku-06,mars-01,1\n",
                   encoding="utf-8")
    code, err = await cli(database_url, str(bad))
    assert code == 2 and "data row 1.store_code: unknown store 'mars-01'" in err
    async with app.db.engine.connect() as conn:
        from sqlalchemy import text

        rows = (await conn.execute(text(
            "SELECT store_code, sku, quantity_milli FROM stock_balances "
            "WHERE sku IN ('sku-05', 'sku-06') ORDER BY store_code"))).all()
    assert [tuple(r) for r in rows] == [("kyiv-01", "sku-05", 2500), ("lviv-01", "sku-05", 7000)]
