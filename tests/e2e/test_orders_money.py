"""Points on online orders through the one ledger: reserve, release, spend, accrue, return;
and the races (points reserved twice, a customer cancelling while a store confirms)."""

from __future__ import annotations

import asyncio

import grpc

from tests.e2e.ledger_support import assert_books_balance
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
from tests.helpers import rpc_error


async def shop(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    await setup_shop(app, admin)
    return client_for(await make_key("store_backend", store_code=WEB))


async def test_cancel_releases_the_reserved_points_to_their_lots(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380672220001", 3000)
    order = (await web.orders.PlaceOrder(place(O.Customer(card_number=card),
                                               lines(("sku-01", 2000, 5000)),
                                               points=2500))).order
    assert order.points_reserved == 2500
    assert await balance(admin, card) == 500
    cancelled = (await web.orders.CancelOrder(O.CancelOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1,
        reason="customer changed their mind"))).order
    assert cancelled.state == O.ORDER_STATE_CANCELLED and cancelled.points_reserved == 0
    assert all(x.state == O.ORDER_LINE_STATE_CANCELLED for x in cancelled.lines)
    assert await balance(admin, card) == 3000
    await assert_books_balance(app)


async def test_a_smaller_order_releases_what_it_no_longer_uses(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380672220002", 10_000)
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card), lines(("sku-01", 1000, 3000), ("sku-02", 1000, 3000)),
        points=6000))).order
    # the rules cap what points may pay (the same cap as CalculateReceipt's)
    before = order.points_reserved
    assert 0 < before <= 6000
    assert await balance(admin, card) == 10_000 - before
    smaller = (await web.orders.CancelLine(O.CancelLineRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1, line_no=2,
        reason="out of stock"))).order
    after = smaller.points_reserved
    assert after < before and after == sum(x.points_paid for x in smaller.lines if x.line_no == 1)
    assert await balance(admin, card) == 10_000 - after
    assert f'"points_released": {before - after}' in smaller.history[-1].detail_json
    await assert_books_balance(app)


async def test_completion_spends_and_accrues_and_returns_reverse_per_line(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380672220003", 1000)
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card), lines(("sku-01", 4000, 2500), ("sku-02", 1000, 10000)),
        points=1000))).order
    paid = {x.line_no: x.points_paid for x in order.lines}
    earns = {x.line_no: x.points_to_accrue for x in order.lines}
    assert sum(paid.values()) == 1000
    accrual = sum(earns.values())
    assert accrual == order.total.amount_minor * 500 // 10_000  # silver: 5%
    oid = order.order_id
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(request_id=rid(), order_id=oid,
                                                        expected_version=1))
    done = (await web.orders.CompleteOrder(O.CompleteOrderRequest(
        request_id=rid(), order_id=oid, expected_version=2))).order
    assert done.points_spent == 1000 and done.points_reserved == 0
    assert done.points_accrued == accrual
    assert await balance(admin, card) == accrual
    await assert_books_balance(app)

    with rpc_error() as failure:
        await web.orders.ReturnLines(O.ReturnLinesRequest(
            request_id=rid(), order_id=oid, expected_version=3, reason="broken",
            returns=[O.ReturnedLine(line_no=1, quantity_milli=5000)]))
    assert failure.reason == "RETURN_EXCEEDS_ORDER"
    assert failure.fields == ["returns[0].quantity_milli"]
    assert failure.metadata["returnable_milli"] == "4000"

    first = await web.orders.ReturnLines(O.ReturnLinesRequest(
        request_id=rid(), order_id=oid, expected_version=3, reason="one was broken",
        returns=[O.ReturnedLine(line_no=1, quantity_milli=1000)]))
    assert first.points_returned == paid[1] // 4
    assert first.points_reversed == earns[1] // 4
    line1 = next(x for x in first.order.lines if x.line_no == 1)
    assert first.refund.amount_minor == line1.final_amount_minor // 4
    assert first.order.state == O.ORDER_STATE_COMPLETED
    assert line1.returned_quantity_milli == 1000
    assert await balance(admin, card) == accrual + paid[1] // 4 - earns[1] // 4

    rest = await web.orders.ReturnLines(O.ReturnLinesRequest(
        request_id=rid(), order_id=oid, expected_version=4, reason="all back",
        returns=[O.ReturnedLine(line_no=1, quantity_milli=3000),
                 O.ReturnedLine(line_no=2, quantity_milli=1000)]))
    final = rest.order
    assert final.state == O.ORDER_STATE_RETURNED
    assert all(x.state == O.ORDER_LINE_STATE_RETURNED for x in final.lines)
    # every spent point is back and every accrued point taken back: the member is whole
    assert final.points_returned == 1000 and final.points_reversed == accrual
    assert await balance(admin, card) == 1000
    await assert_books_balance(app)
    with rpc_error() as failure:
        await web.orders.ReturnLines(O.ReturnLinesRequest(
            request_id=rid(), order_id=oid, expected_version=5, reason="again",
            returns=[O.ReturnedLine(line_no=1, quantity_milli=1)]))
    assert failure.reason == "ORDER_STATE_CONFLICT"


async def test_the_same_points_are_never_reserved_twice(app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380672220004", 2000)
    requests = [place(O.Customer(card_number=card), lines(("sku-01", 1000, 5000)),
                      points=2000, number=f"W-{i}") for i in range(12)]
    results = await asyncio.gather(*(web.orders.PlaceOrder(r) for r in requests),
                                   return_exceptions=True)
    # points are capped by what the member can spend when the order reserves them: the
    # first order takes all 2,000 and the three that lost the race are placed without points,
    # however the twelve interleave (a stale balance read before the race is never priced with)
    assert all(not isinstance(r, BaseException) for r in results), results
    reserved = sorted(r.order.points_reserved for r in results)
    assert reserved == [0] * 11 + [2000], reserved
    for r in results:
        # what the customer pays adds up to the kopeck, with the points or without them
        assert r.order.total.amount_minor == sum(x.final_amount_minor for x in r.order.lines)
        assert sum(x.points_paid for x in r.order.lines) == r.order.points_reserved
    assert await balance(admin, card) == 0
    listed = await web.orders.ListOrders(O.ListOrdersRequest())
    assert len(listed.orders) == 12
    # the same request sent twice at once is one order and one reservation
    _, card2 = await member_with_points(admin, "+380672220005", 500)
    one = place(O.Customer(card_number=card2), lines(("sku-02", 1000, 5000)), points=500)
    a, b = await asyncio.gather(web.orders.PlaceOrder(one), web.orders.PlaceOrder(one),
                                return_exceptions=True)
    answers = [x for x in (a, b) if not isinstance(x, BaseException)]
    assert answers and all(x.order.order_id == answers[0].order.order_id for x in answers)
    assert await balance(admin, card2) == 0
    await assert_books_balance(app)


async def test_a_customer_cancelling_while_a_store_confirms(app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    operator = client_for(await make_key("operator"))
    _, card = await member_with_points(admin, "+380672220006", 800)
    for round_no in range(5):
        order = (await web.orders.PlaceOrder(place(
            O.Customer(card_number=card), lines(("sku-03", 1000, 1000)), points=800,
            number=f"R-{round_no}"))).order
        cancel = web.orders.CancelOrder(O.CancelOrderRequest(
            request_id=rid(), order_id=order.order_id, expected_version=1, reason="customer"))
        confirm = operator.orders.ConfirmOrder(O.ConfirmOrderRequest(
            request_id=rid(), order_id=order.order_id, expected_version=1))
        results = await asyncio.gather(cancel, confirm, return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(won) == 1 and len(lost) == 1
        assert lost[0].code() == grpc.StatusCode.ABORTED  # ORDER_VERSION_CONFLICT
        final = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
        assert final.version == 2 and len(final.history) == 2
        if final.state == O.ORDER_STATE_CANCELLED:
            assert await balance(admin, card) == 800
        else:
            assert final.state == O.ORDER_STATE_CONFIRMED
            assert final.points_reserved == order.points_reserved > 0
            assert await balance(admin, card) == 800 - order.points_reserved
            await web.orders.CancelOrder(O.CancelOrderRequest(
                request_id=rid(), order_id=order.order_id, expected_version=2,
                reason="tidy up"))
            assert await balance(admin, card) == 800
    await assert_books_balance(app)


async def completed(web, card: str):  # type: ignore[no-untyped-def]
    order = (await web.orders.PlaceOrder(place(O.Customer(card_number=card),
                                               lines(("sku-01", 2000, 2500))))).order
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(request_id=rid(),
                                                        order_id=order.order_id,
                                                        expected_version=1))
    return (await web.orders.CompleteOrder(O.CompleteOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=2))).order


async def test_an_exchange_settles_the_difference_from_points_or_the_cash_account(
        app, admin, make_key, client_for):
    from kopilka.v1 import bonus_pb2

    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380672220007", 3000)
    order = await completed(web, card)
    assert order.points_accrued == 250  # 5% of 50.00
    assert await balance(admin, card) == 3250
    exchange = O.ExchangeLinesRequest(
        request_id=rid(), order_id=order.order_id, expected_version=3, reason="wrong size",
        returns=[O.ReturnedLine(line_no=1, quantity_milli=1000)],
        new_lines=[O.NewOrderLine(sku="sku-03", quantity_milli=1000, unit_price_minor=4000)],
        settlement=O.SETTLEMENT_POINTS)
    done = await web.orders.ExchangeLines(exchange)
    assert done.refund.amount_minor == 2500 and done.new_total.amount_minor == 4000
    assert done.difference.amount_minor == 1500 and done.points_reversed == 125
    after = done.order
    assert after.state == O.ORDER_STATE_COMPLETED and after.version == 4
    new = next(x for x in after.lines if x.sku == "sku-03")
    assert new.line_no == 2 and new.state == O.ORDER_LINE_STATE_CONFIRMED
    assert new.points_to_accrue == 200 and after.points_accrued == 450
    # 3250 - 125 taken back + 200 earned by the new line - 1500 paid for the difference
    assert await balance(admin, card) == 1825
    assert '"settlement": "points"' in after.history[-1].detail_json
    await assert_books_balance(app)

    # a cheaper exchange gives the difference back to the cash account
    await admin.bonus.TopUpCashAccount(bonus_pb2.TopUpCashAccountRequest(
        request_id=rid(), card_number=card, amount_minor=100, reason="test",
        reason_code=bonus_pb2.ADJUSTMENT_REASON_CORRECTION))
    back = await web.orders.ExchangeLines(O.ExchangeLinesRequest(
        request_id=rid(), order_id=order.order_id, expected_version=4, reason="cheaper",
        returns=[O.ReturnedLine(line_no=2, quantity_milli=1000)],
        new_lines=[O.NewOrderLine(sku="sku-05", quantity_milli=1000, unit_price_minor=1000)],
        settlement=O.SETTLEMENT_CASH_ACCOUNT))
    assert back.difference.amount_minor == 1000 - 4000
    cash = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=card))
    assert cash.cash_balance_minor == 100 + 3000
    await assert_books_balance(app)


async def test_an_exchange_the_member_cannot_pay_changes_nothing(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380672220008", 0)
    order = await completed(web, card)
    with rpc_error() as failure:
        await web.orders.ExchangeLines(O.ExchangeLinesRequest(
            request_id=rid(), order_id=order.order_id, expected_version=3, reason="upgrade",
            returns=[O.ReturnedLine(line_no=1, quantity_milli=2000)],
            new_lines=[O.NewOrderLine(sku="sku-03", quantity_milli=1000,
                                      unit_price_minor=90000)],
            settlement=O.SETTLEMENT_POINTS))
    assert failure.reason == "INSUFFICIENT_POINTS"
    got = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert got.version == 3 and len(got.lines) == 1
    assert await balance(admin, card) == order.points_accrued
    await assert_books_balance(app)
