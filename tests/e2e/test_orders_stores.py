"""Asking stores to confirm lines: rounds, answers from the stores' terminals, the deadline
job routing to the next store, and the bad answers."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
from kopilka.v1 import admin_pb2

from server.auth.principal import PrincipalKind
from server.features.jobs import run_all_jobs
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

CONFIRMED, PARTLY, REFUSED = (O.LINE_ANSWER_KIND_CONFIRMED, O.LINE_ANSWER_KIND_PARTLY,
                              O.LINE_ANSWER_KIND_REFUSED)


def bal(store: str, sku: str, milli: int) -> O.StockBalance:
    return O.StockBalance(store_code=store, sku=sku, quantity_milli=milli)


async def world(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    await setup_shop(app, admin)
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code="odesa-01", name="Odesa", time_zone="Europe/Kyiv")))
    await admin.orders.SetStock(O.SetStockRequest(request_id=rid(), balances=[
        bal(PICKUP, "sku-01", 1000), bal("lviv-01", "sku-01", 5000),
        bal("odesa-01", "sku-01", 3000), bal("odesa-01", "sku-02", 3000)]))
    web = client_for(await make_key("store_backend", store_code=WEB))
    tills = {s: client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL, store_code=s,
                                          terminal_id="T1"))
             for s in (PICKUP, "lviv-01", "odesa-01")}
    _, card = await member_with_points(admin, "+380674440001", 0)
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card), lines(("sku-01", 1000, 1000), ("sku-02", 3000, 500)))
    )).order
    return web, tills, order


def answer(store_request_id: str, *items: tuple[int, int, int, str]
           ) -> O.AnswerStoreRequestRequest:
    return O.AnswerStoreRequestRequest(
        request_id=rid(), store_request_id=store_request_id,
        answers=[O.LineAnswer(line_no=n, answer=a, confirmed_quantity_milli=q, reason=r)
                 for n, a, q, r in items])


async def test_stores_answer_confirmed_partly_refused_over_rounds(
        app, admin, make_key, client_for):
    web, tills, order = await world(app, admin, make_key, client_for)
    asked = await web.orders.AskStores(O.AskStoresRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1, deadline_seconds=600,
        asks=[O.StoreAsk(store_code="lviv-01", line_nos=[1]),
              O.StoreAsk(store_code="odesa-01", line_nos=[2])]))
    lviv, odesa = asked.store_request_ids
    assert asked.order.version == 2
    assert [(r.store_code, r.round, r.state) for r in asked.order.store_requests] == [
        ("lviv-01", 1, O.STORE_REQUEST_STATE_PENDING),
        ("odesa-01", 1, O.STORE_REQUEST_STATE_PENDING)]

    # two stores answering at once: both land, one after the other
    a, b = await asyncio.gather(
        tills["lviv-01"].orders.AnswerStoreRequest(answer(lviv, (1, CONFIRMED, 0, ""))),
        tills["odesa-01"].orders.AnswerStoreRequest(
            answer(odesa, (2, PARTLY, 1000, "only one pack"))))
    final = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert final.version == 4
    by_no = {x.line_no: x for x in final.lines}
    assert by_no[1].state == O.ORDER_LINE_STATE_CONFIRMED and by_no[1].store_code == "lviv-01"
    assert by_no[2].state == O.ORDER_LINE_STATE_CONFIRMED and by_no[2].quantity_milli == 1000
    assert by_no[2].store_code == "odesa-01"
    assert by_no[3].state == O.ORDER_LINE_STATE_OPEN and by_no[3].quantity_milli == 2000
    assert by_no[3].split_from_line_no == 2
    assert final.total.amount_minor == 1000 + 1500  # priced again: still what was ordered
    answered = {r.store_code: r for r in final.store_requests}
    assert answered["odesa-01"].state == O.STORE_REQUEST_STATE_ANSWERED
    assert answered["odesa-01"].lines[0].answer == PARTLY
    assert answered["odesa-01"].lines[0].confirmed_quantity_milli == 1000
    assert answered["odesa-01"].lines[0].reason == "only one pack"
    assert answered["lviv-01"].answered_by.startswith("terminal:")

    # round 2: the rest of line 2 to the pickup store, which refuses
    second = await web.orders.AskStores(O.AskStoresRequest(
        request_id=rid(), order_id=order.order_id, expected_version=4, deadline_seconds=600,
        asks=[O.StoreAsk(store_code=PICKUP, line_nos=[3])]))
    [again] = second.store_request_ids
    refused = await tills[PICKUP].orders.AnswerStoreRequest(
        answer(again, (3, REFUSED, 0, "none left")))
    assert [r.round for r in refused.order.store_requests] == [1, 1, 2]
    assert {x.line_no: x.state for x in refused.order.lines}[3] == O.ORDER_LINE_STATE_OPEN
    # the operator cancels the missing rest: every live line confirmed, the order too
    done = await web.orders.CancelLine(O.CancelLineRequest(
        request_id=rid(), order_id=order.order_id, expected_version=refused.order.version,
        line_no=3, reason="refused by every store"))
    assert done.order.state == O.ORDER_STATE_CONFIRMED
    assert [h.action for h in done.order.history] == [
        "place", "ask_stores", "store_answer", "store_answer", "ask_stores", "store_answer",
        "cancel_line"]
    del a, b


async def test_bad_answers_are_refused_and_change_nothing(app, admin, make_key, client_for):
    web, tills, order = await world(app, admin, make_key, client_for)
    asked = await web.orders.AskStores(O.AskStoresRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1, deadline_seconds=600,
        asks=[O.StoreAsk(store_code="lviv-01", line_nos=[1])]))
    [lviv] = asked.store_request_ids
    with rpc_error() as failure:  # another store's terminal: unknown to it
        await tills["odesa-01"].orders.AnswerStoreRequest(answer(lviv, (1, CONFIRMED, 0, "")))
    assert failure.reason == "STORE_REQUEST_NOT_FOUND"
    with rpc_error() as failure:
        await tills["lviv-01"].orders.AnswerStoreRequest(
            answer(lviv, (1, CONFIRMED, 0, ""), (2, CONFIRMED, 0, "")))
    assert failure.reason == "LINE_NOT_REQUESTED" and failure.fields == ["answers[1].line_no"]
    with rpc_error() as failure:
        await tills["lviv-01"].orders.AnswerStoreRequest(answer(lviv, (1, PARTLY, 1000, "x")))
    assert failure.fields == ["answers[0].confirmed_quantity_milli"]
    with rpc_error() as failure:
        await tills["lviv-01"].orders.AnswerStoreRequest(answer(lviv, (1, REFUSED, 0, "")))
    assert failure.fields == ["answers[0].reason"]
    with rpc_error() as failure:  # asking about a line twice in one round
        await web.orders.AskStores(O.AskStoresRequest(
            request_id=rid(), order_id=order.order_id, expected_version=2, deadline_seconds=60,
            asks=[O.StoreAsk(store_code="odesa-01", line_nos=[2, 2])]))
    assert failure.fields == ["asks[0].line_nos[1]"]
    unchanged = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert unchanged.version == 2
    assert unchanged.store_requests[0].state == O.STORE_REQUEST_STATE_PENDING

    await tills["lviv-01"].orders.AnswerStoreRequest(answer(lviv, (1, CONFIRMED, 0, "")))
    with rpc_error() as failure:
        await tills["lviv-01"].orders.AnswerStoreRequest(answer(lviv, (1, CONFIRMED, 0, "")))
    assert failure.reason == "STORE_REQUEST_ANSWERED"


async def test_no_answer_by_the_deadline_routes_to_the_next_store(
        app, admin, make_key, client_for):
    web, tills, order = await world(app, admin, make_key, client_for)
    asked = await web.orders.AskStores(O.AskStoresRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1, deadline_seconds=1,
        store_codes=["odesa-01"],
        strategy=O.ALLOCATION_STRATEGY_STORE_PRIORITY, virtual_shelf=True))
    # by the strategy: both lines to odesa-01, the first in the priority list holding them
    [first] = asked.store_request_ids
    assert [(r.store_code, [x.line_no for x in r.lines]) for r in asked.order.store_requests] \
        == [("odesa-01", [1, 2])]
    await asyncio.sleep(1.1)
    with rpc_error() as failure:
        await tills["odesa-01"].orders.AnswerStoreRequest(
            answer(first, (1, CONFIRMED, 0, ""), (2, CONFIRMED, 0, "")))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "STORE_REQUEST_EXPIRED"

    # the jobs pass a minute on: the new round's 1 s deadline is then a minute ahead of
    # the wall clock, so a slow machine still answers it in time
    at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    done = await run_all_jobs(app.db, at)
    assert done is not None and done.counts["web_orders_routed"] == 1
    routed = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    states = [(r.store_code, r.round, r.state) for r in routed.store_requests]
    # line 1 goes to the next store holding it (by code: kyiv-01); line 2 is held nowhere else
    assert states == [("odesa-01", 1, O.STORE_REQUEST_STATE_EXPIRED),
                      (PICKUP, 2, O.STORE_REQUEST_STATE_PENDING)]
    assert [x.line_no for x in routed.store_requests[1].lines] == [1]
    assert routed.history[-1].action == "route"
    assert '"stranded_line_nos": [2]' in routed.history[-1].detail_json
    # a second pass finds nothing more to route
    again = await run_all_jobs(app.db, at)
    assert again is not None and again.counts["web_orders_routed"] == 0
    ok = await tills[PICKUP].orders.AnswerStoreRequest(
        answer(routed.store_requests[1].store_request_id, (1, CONFIRMED, 0, "")))
    assert {x.line_no: x.store_code for x in ok.order.lines}[1] == PICKUP
