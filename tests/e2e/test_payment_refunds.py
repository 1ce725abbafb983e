"""Refund intents end to end over real gRPC and real HTTP, against the LiqPay fake
(tests/liqpay_peer.py): a refund is written before LiqPay is called and sent once, whatever
is retried or crashes; cancelling an order refunds its payments; a late success for a
cancelled order's checkout is refunded; expired invoice links answer 410."""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp
import grpc
import pytest
from sqlalchemy import text

from server.features.jobs import run_all_jobs
from server.settings import Settings
from tests.e2e.orders_support import WEB, O, balance
from tests.e2e.payments_support import (
    SHOP_URL,
    P,
    liqpay_settings,
    pay,
    rid,
    running_liqpay,
    split_order,
)
from tests.e2e.test_payments_liqpay import checkout, world
from tests.helpers import rpc_error


@pytest.fixture
async def liqpay():  # type: ignore[no-untyped-def]
    async with running_liqpay() as peer:
        yield peer


@pytest.fixture
def settings(tmp_path, liqpay) -> Settings:  # type: ignore[no-untyped-def]
    return liqpay_settings(tmp_path, liqpay)


async def paid_card(app, admin, make_key, client_for, liqpay, phone="+380675550301"):  # type: ignore[no-untyped-def]
    web, order, card, _ = await world(app, admin, make_key, client_for, liqpay, phone)
    await checkout(web, liqpay, card.payment_id)
    liqpay.finish(card.payment_id, "success")
    assert await liqpay.post_callback(card.payment_id) == (200, "ok")
    return web, order, card


async def intents(app, payment_id: str) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    """(state, amount, attempts) of a payment's refund intents, oldest first."""
    async with app.db.transaction() as session:
        rows = (await session.execute(text(
            "SELECT state, amount_minor, attempts FROM order_payment_refunds "
            "WHERE payment_id = :p ORDER BY created_at, id"), {"p": payment_id})).all()
    return [tuple(r) for r in rows]


async def payment(web, order_id: str, entity: str = "shop", method: int = 0):  # type: ignore[no-untyped-def]
    got = (await web.payments.GetOrderPayments(P.GetOrderPaymentsRequest(
        order_id=order_id))).payments
    return next(p for p in got.payments if p.entity_code == entity
                and (not method or p.method == method))


async def test_a_retried_refund_is_sent_to_liqpay_once(app, admin, make_key, client_for,
                                                       liqpay):
    _, _, card = await paid_card(app, admin, make_key, client_for, liqpay)
    request = P.RefundPaymentRequest(request_id=rid(), payment_id=card.payment_id,
                                     amount_minor=4690, reason="line 1 returned")
    first = await admin.payments.RefundPayment(request)
    again = await admin.payments.RefundPayment(request)
    assert first.refund.state == again.refund.state == P.REFUND_STATE_DONE
    assert first.refund.refund_id == again.refund.refund_id
    assert (again.payment.refunded_minor, again.payment.state) == (4690, P.PAYMENT_STATE_PAID)
    assert liqpay.refund_calls == 1 and liqpay.payments[card.payment_id].refunds == ["46.90"]
    assert await intents(app, card.payment_id) == [("done", 4690, 1)]
    # another key's request id is its own: the same id from another caller is a new refund
    other = client_for(await make_key("admin"))
    rest = await other.payments.RefundPayment(P.RefundPaymentRequest(
        request_id=request.request_id, payment_id=card.payment_id, reason="the rest"))
    assert (rest.payment.refunded_minor, rest.payment.state) == (24690,
                                                                P.PAYMENT_STATE_REVERSED)
    assert liqpay.refund_calls == 2


async def test_two_concurrent_refunds_cannot_exceed_the_payment(app, admin, make_key,
                                                                client_for, liqpay):
    _, _, card = await paid_card(app, admin, make_key, client_for, liqpay)
    liqpay.refund_delay = 0.5  # the first is still at LiqPay when the second is asked

    async def refund(amount: int):  # type: ignore[no-untyped-def]
        return await admin.payments.RefundPayment(P.RefundPaymentRequest(
            request_id=rid(), payment_id=card.payment_id, amount_minor=amount, reason="x"))

    results = await asyncio.gather(refund(20000), refund(10000), return_exceptions=True)
    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(done) == 1 and len(refused) == 1, results
    assert refused[0].code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is being refunded now" in (refused[0].details() or "")
    assert liqpay.refund_calls == 1
    kept = done[0].refund.amount_minor
    assert done[0].payment.refunded_minor == kept
    assert [(s, a) for s, a, _ in await intents(app, card.payment_id)] == [("done", kept)]


async def test_a_refused_refund_leaves_nothing_refunded_and_the_amount_free(
        app, admin, make_key, client_for, liqpay):
    web, order, card = await paid_card(app, admin, make_key, client_for, liqpay)
    liqpay.refund_error = "limit"
    request = P.RefundPaymentRequest(request_id=rid(), payment_id=card.payment_id,
                                     reason="customer")
    with rpc_error() as failure:
        await admin.payments.RefundPayment(request)
    assert failure.reason == "PAYMENT_PROVIDER_FAILED" and "limit" in failure.message
    got = await payment(web, order.order_id)
    assert (got.refunded_minor, got.state) == (0, P.PAYMENT_STATE_PAID)
    assert await intents(app, card.payment_id) == [("failed", 24690, 1)]
    # the reservation is released and the request id free again: the same request refunds
    liqpay.refund_error = ""
    done = await admin.payments.RefundPayment(request)
    assert (done.payment.refunded_minor, done.payment.state) == (24690,
                                                                P.PAYMENT_STATE_REVERSED)
    assert liqpay.refund_calls == 2 and liqpay.payments[card.payment_id].refunds == ["246.90"]
    assert await admin.payments.RefundPayment(request) == done  # and now it is answered


async def test_a_crash_after_liqpay_refunded_is_settled_by_the_job_without_a_second_call(
        app, admin, make_key, client_for, liqpay, settings, monkeypatch):
    from server.db.payments import refunds as refund_sql

    web, order, card = await paid_card(app, admin, make_key, client_for, liqpay)

    async def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionResetError("the server died before recording the refund")

    monkeypatch.setattr(refund_sql, "record_outcome", crash)
    request = P.RefundPaymentRequest(request_id=rid(), payment_id=card.payment_id,
                                     reason="customer")
    with rpc_error() as failure:
        await admin.payments.RefundPayment(request)
    assert failure.code == grpc.StatusCode.INTERNAL
    monkeypatch.undo()
    assert liqpay.refund_calls == 1 and liqpay.payments[card.payment_id].refunds == ["246.90"]
    assert await intents(app, card.payment_id) == [("pending", 24690, 1)]
    # the caller retries: the intent was sent already, so it is not sent again
    retried = await admin.payments.RefundPayment(request)
    assert retried.refund.state == P.REFUND_STATE_PENDING
    assert retried.payment.refunded_minor == 0
    with rpc_error() as failure:  # the amount stays reserved meanwhile
        await admin.payments.RefundPayment(P.RefundPaymentRequest(
            request_id=rid(), payment_id=card.payment_id, amount_minor=1, reason="more"))
    assert failure.fields == ["amount_minor"]
    soon = await run_all_jobs(app.db, dt.datetime.now(dt.UTC), settings)
    assert soon is not None and soon.counts["refunds_settled"] == 0  # maybe still in flight
    later = await run_all_jobs(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                               settings)
    assert later is not None and later.failed == {} and later.counts["refunds_settled"] == 1
    assert liqpay.refund_calls == 1  # LiqPay's status said it: no second refund
    asked = [r for r in liqpay.requests
             if r["action"] == "status" and r["order_id"] == card.payment_id]
    assert len(asked) == 1  # (the other payment, still unpaid, is asked by its own step)
    got = await payment(web, order.order_id)
    assert (got.refunded_minor, got.state) == (24690, P.PAYMENT_STATE_REVERSED)
    assert await intents(app, card.payment_id) == [("done", 24690, 1)]
    answer = await admin.payments.RefundPayment(request)
    assert answer.refund.state == P.REFUND_STATE_DONE


async def test_a_refund_liqpay_never_got_is_settled_failed_by_the_job(
        app, admin, make_key, client_for, liqpay, settings, monkeypatch):
    """The call was claimed but never reached LiqPay: the status shows no refund, so the
    intent fails (its amount freed) rather than being sent a second time."""
    from plugins.liqpay.provider import LiqPayError, LiqPayProvider

    web, order, card = await paid_card(app, admin, make_key, client_for, liqpay)

    async def lost(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise LiqPayError("LiqPay unreachable: timeout", retryable=True)

    monkeypatch.setattr(LiqPayProvider, "refund", lost)
    answer = await admin.payments.RefundPayment(P.RefundPaymentRequest(
        request_id=rid(), payment_id=card.payment_id, reason="customer"))
    assert answer.refund.state == P.REFUND_STATE_PENDING  # unknown: the job will tell
    monkeypatch.undo()
    later = await run_all_jobs(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                               settings)
    assert later is not None and later.counts["refunds_settled"] == 1
    assert liqpay.refund_calls == 0
    assert await intents(app, card.payment_id) == [("failed", 24690, 1)]
    got = await payment(web, order.order_id)
    assert (got.refunded_minor, got.state) == (0, P.PAYMENT_STATE_PAID)


async def test_cancelling_an_order_gives_points_back_and_refunds_the_card_once(
        app, admin, make_key, client_for, liqpay, settings):
    from tests.e2e.orders_support import setup_shop
    from tests.e2e.payments_support import two_entities

    await setup_shop(app, admin)
    await two_entities(admin)
    liqpay.deliver_to = (SHOP_URL, f"http://127.0.0.1:{app.http.port}")
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, member_card = await split_order(admin, web, phone="+380675550311", points=10_000)
    done = await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_POINTS, 4690, "shop"),
            pay(P.ORDER_PAYMENT_METHOD_CARD, 20000, "shop"),
            pay(P.ORDER_PAYMENT_METHOD_INSTALLMENTS, 8000, "fop")]))
    by_method = {p.method: p for p in done.payments.payments}
    card = by_method[P.ORDER_PAYMENT_METHOD_CARD]
    parts = by_method[P.ORDER_PAYMENT_METHOD_INSTALLMENTS]
    assert await balance(admin, member_card) == 10_000 - 4690
    await checkout(web, liqpay, card.payment_id)
    await checkout(web, liqpay, parts.payment_id)  # opened, never paid
    liqpay.finish(card.payment_id, "success")
    assert await liqpay.post_callback(card.payment_id) == (200, "ok")

    version = (await web.orders.GetOrder(O.GetOrderRequest(
        order_id=order.order_id))).order.version
    cancel = O.CancelOrderRequest(request_id=rid(), order_id=order.order_id,
                                  expected_version=version, reason="customer changed mind")
    cancelled = await web.orders.CancelOrder(cancel)
    assert cancelled.order.state == O.ORDER_STATE_CANCELLED
    await web.orders.CancelOrder(cancel)  # a retry changes nothing more
    assert await balance(admin, member_card) == 10_000
    assert liqpay.refund_calls == 1 and liqpay.payments[card.payment_id].refunds == ["200.00"]
    after = {p.method: p for p in (await web.payments.GetOrderPayments(
        P.GetOrderPaymentsRequest(order_id=order.order_id))).payments.payments}
    assert [(after[m].state, after[m].refunded_minor) for m in (
        P.ORDER_PAYMENT_METHOD_POINTS, P.ORDER_PAYMENT_METHOD_CARD,
        P.ORDER_PAYMENT_METHOD_INSTALLMENTS)] == [
        (P.PAYMENT_STATE_REVERSED, 4690), (P.PAYMENT_STATE_REVERSED, 20000),
        (P.PAYMENT_STATE_CANCELLED, 0)]
    with rpc_error() as failure:  # a cancelled checkout gets no new link
        await web.payments.CreateCheckout(P.CreateCheckoutRequest(
            request_id=rid(), payment_id=parts.payment_id))
    assert failure.reason == "PAYMENT_STATE_CONFLICT"
    jobs = await run_all_jobs(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                              settings)
    assert jobs is not None and jobs.counts["refunds_settled"] == 0
    assert liqpay.refund_calls == 1

    # the buyer pays the cancelled checkout after all: taken, and refunded once
    liqpay.finish(parts.payment_id, "success")
    assert await liqpay.post_callback(parts.payment_id) == (200, "ok")
    assert liqpay.refund_calls == 2 and liqpay.payments[parts.payment_id].refunds == ["80.00"]
    late = await payment(web, order.order_id, "fop")
    assert (late.state, late.refunded_minor) == (P.PAYMENT_STATE_REVERSED, 8000)
    assert await liqpay.post_callback(parts.payment_id) == (
        200, "ok: nothing to change (duplicate or out of order)")
    assert liqpay.refund_calls == 2


async def test_an_expired_invoice_link_answers_410_and_issuing_again_renews_it(
        app, admin, make_key, client_for, liqpay, settings):
    web, order, _, _ = await world(app, admin, make_key, client_for, liqpay,
                                   "+380675550321")
    issued = await web.payments.IssueInvoices(P.IssueInvoicesRequest(
        request_id=rid(), order_id=order.order_id))
    link = issued.invoices[0].download_url
    local = link.replace(SHOP_URL, f"http://127.0.0.1:{app.http.port}")

    async def get(url: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, response.headers.get("Content-Type", "")

    assert (await get(local))[0] == 200
    real_clock = app.deps.clock
    days = settings.invoice_link_days
    app.deps.clock = lambda: real_clock() + dt.timedelta(days=days, minutes=1)
    try:
        status, kind = await get(local)
        assert status == 410 and kind.startswith("text/html")
        async with aiohttp.ClientSession() as session, session.get(local) as response:
            assert "ask the shop for a new link" in await response.text()
        again = await web.payments.IssueInvoices(P.IssueInvoicesRequest(
            request_id=rid(), order_id=order.order_id))
        assert again.invoices[0].invoice_id == issued.invoices[0].invoice_id
        fresh = again.invoices[0].download_url
        assert fresh != link
        assert (await get(fresh.replace(SHOP_URL, f"http://127.0.0.1:{app.http.port}")))[0] \
            == 200
    finally:
        app.deps.clock = real_clock
