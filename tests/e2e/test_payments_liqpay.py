"""Card and installment payments through LiqPay: checkout links signed per the contract, the
callback over real HTTP to the running server (signature checked, duplicates, replays and
out-of-order statuses harmless, bad input refused and logged once), the status job for
callbacks that never came, refunds through LiqPay's API. LiqPay is tests/liqpay_peer.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import text

from server.features.jobs import run_all_jobs
from server.settings import Settings
from tests.e2e.orders_support import WEB, setup_shop
from tests.e2e.payments_support import (
    PRIVATE,
    PUBLIC,
    SHOP_URL,
    P,
    liqpay_settings,
    pay,
    rid,
    running_liqpay,
    split_order,
    two_entities,
)
from tests.helpers import rpc_error
from tests.liqpay_peer import pack, sign


@pytest.fixture
async def liqpay():  # type: ignore[no-untyped-def]
    async with running_liqpay() as peer:
        yield peer


@pytest.fixture
def settings(tmp_path, liqpay) -> Settings:  # type: ignore[no-untyped-def]
    return liqpay_settings(tmp_path, liqpay)


async def world(app, admin, make_key, client_for, liqpay, phone="+380675550201"):  # type: ignore[no-untyped-def]
    await setup_shop(app, admin)
    await two_entities(admin)
    liqpay.deliver_to = (SHOP_URL, f"http://127.0.0.1:{app.http.port}")
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, _ = await split_order(admin, web, phone=phone)
    done = await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_CARD, 24690, "shop"),
            pay(P.ORDER_PAYMENT_METHOD_INSTALLMENTS, 8000, "fop")]))
    card = next(p for p in done.payments.payments if p.method == P.ORDER_PAYMENT_METHOD_CARD)
    parts = next(p for p in done.payments.payments if p.method != P.ORDER_PAYMENT_METHOD_CARD)
    return web, order, card, parts


async def checkout(web, liqpay, payment_id: str) -> dict:  # type: ignore[no-untyped-def]
    """The link as the buyer opens it: decoded after checking its signature ourselves."""
    link = await web.payments.CreateCheckout(P.CreateCheckoutRequest(
        request_id=rid(), payment_id=payment_id, result_url=f"{SHOP_URL}/thanks"))
    query = parse_qs(urlsplit(link.url).query)
    assert query["data"] == [link.data] and query["signature"] == [link.signature]
    expected = base64.b64encode(hashlib.sha1((PRIVATE + link.data + PRIVATE).encode())
                                .digest()).decode()
    assert link.signature == expected
    async with aiohttp.ClientSession() as session, session.get(link.url) as response:
        assert response.status == 200
    params = json.loads(base64.b64decode(link.data))
    assert liqpay.payments[link.provider_order_id].params == params
    return params


async def state(web, order_id: str) -> dict[str, tuple[int, str]]:  # type: ignore[no-untyped-def]
    got = (await web.payments.GetOrderPayments(P.GetOrderPaymentsRequest(
        order_id=order_id))).payments
    return {p.entity_code: (p.state, p.provider_status) for p in got.payments}


async def audit_rows(app) -> int:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return int(await session.scalar(text(
            "SELECT count(*) FROM audit_log WHERE object_type = 'order_payment'")))


async def test_checkout_link_and_callback_move_the_payment(app, admin, make_key, client_for,
                                                           liqpay, caplog):
    web, order, card, parts = await world(app, admin, make_key, client_for, liqpay)
    params = await checkout(web, liqpay, card.payment_id)
    assert params == {"public_key": PUBLIC, "version": "3", "action": "pay",
                      "amount": "246.90", "currency": "UAH",
                      "description": f"Замовлення {order.external_number}, "
                                     "ТОВ «Копілка Рітейл»",
                      "order_id": card.payment_id, "result_url": f"{SHOP_URL}/thanks",
                      "server_url": f"{SHOP_URL}/payments/liqpay/callback"}
    installments = await checkout(web, liqpay, parts.payment_id)
    assert installments["paytypes"] == "moment_part,paypart"
    assert installments["amount"] == "80.00"

    liqpay.finish(card.payment_id, "success")
    first = liqpay.callback_form(card.payment_id)
    assert await liqpay.post_callback(card.payment_id, first) == (200, "ok")
    assert (await state(web, order.order_id))["shop"] == (P.PAYMENT_STATE_PAID, "succeeded")
    rows = await audit_rows(app)

    # LiqPay telling "success" again (a new notice): acknowledged, nothing changes
    assert await liqpay.post_callback(card.payment_id) == (
        200, "ok: nothing to change (duplicate or out of order)")
    # the very same callback again: a replay, refused, nothing changed
    caplog.set_level(logging.WARNING, logger="kopilka.payments")
    caplog.clear()
    status, body = await liqpay.post_callback(card.payment_id, first)
    assert (status, "replayed" in body) == (409, True)
    # out of order: a "failure" arriving after "success" changes nothing
    late = liqpay.callback_form(card.payment_id, status="failure", err_code="limit")
    assert await liqpay.post_callback(card.payment_id, late) == (
        200, "ok: nothing to change (duplicate or out of order)")
    # a forged signature, an unknown order, an amount that does not match
    forged = dict(late, signature=pack("another_key", {"x": 1})["signature"])
    assert (await liqpay.post_callback(card.payment_id, forged))[0] == 403
    unknown = liqpay.callback_form(card.payment_id, order_id="no-such-order")
    assert (await liqpay.post_callback(card.payment_id, unknown))[0] == 404
    liqpay.finish(parts.payment_id, "success")
    cheap = liqpay.callback_form(parts.payment_id, amount=79.99)
    assert (await liqpay.post_callback(parts.payment_id, cheap))[0] == 400
    not_json = "bm90IGpzb24="  # base64 of "not json", correctly signed
    not_liqpay = {"data": not_json, "signature": sign(PRIVATE, not_json)}
    assert (await liqpay.post_callback(parts.payment_id, not_liqpay))[0] == 400
    reasons = [r.reason for r in caplog.records if r.getMessage() == "liqpay callback refused"]
    assert reasons == ["replayed", "signature", "unknown_order", "amount_mismatch",
                       "malformed"]
    assert await audit_rows(app) == rows
    assert await state(web, order.order_id) == {
        "shop": (P.PAYMENT_STATE_PAID, "succeeded"), "fop": (P.PAYMENT_STATE_PENDING, "")}

    # the installments payment's real callback, then LiqPay reverses it
    assert await liqpay.post_callback(parts.payment_id) == (200, "ok")
    liqpay.finish(parts.payment_id, "reversed")
    assert await liqpay.post_callback(parts.payment_id) == (200, "ok")
    got = (await web.payments.GetOrderPayments(P.GetOrderPaymentsRequest(
        order_id=order.order_id))).payments
    assert {p.entity_code: p.state for p in got.payments} == {
        "shop": P.PAYMENT_STATE_PAID, "fop": P.PAYMENT_STATE_REVERSED}
    assert got.payment_state == "reversed"
    with rpc_error() as failure:  # a paid payment needs no new link
        await web.payments.CreateCheckout(P.CreateCheckoutRequest(
            request_id=rid(), payment_id=card.payment_id))
    assert failure.reason == "PAYMENT_STATE_CONFLICT"


async def test_a_failed_payment_gets_a_new_link_and_can_still_be_paid(
        app, admin, make_key, client_for, liqpay):
    web, order, card, _ = await world(app, admin, make_key, client_for, liqpay)
    await checkout(web, liqpay, card.payment_id)
    liqpay.finish(card.payment_id, "failure")
    assert (await liqpay.post_callback(card.payment_id))[0] == 200
    assert (await state(web, order.order_id))["shop"][0] == P.PAYMENT_STATE_FAILED
    again = await checkout(web, liqpay, card.payment_id)
    assert again["order_id"].startswith(card.payment_id + ".")  # LiqPay ids are unique
    liqpay.finish(again["order_id"], "success")
    assert (await liqpay.post_callback(again["order_id"]))[0] == 200
    assert (await state(web, order.order_id))["shop"][0] == P.PAYMENT_STATE_PAID


async def test_the_job_asks_liqpay_when_the_callback_never_came(
        app, admin, make_key, client_for, liqpay, settings):
    web, order, card, parts = await world(app, admin, make_key, client_for, liqpay)
    await checkout(web, liqpay, card.payment_id)
    await checkout(web, liqpay, parts.payment_id)
    liqpay.finish(card.payment_id, "success")  # paid, but no callback is sent
    soon = await run_all_jobs(app.db, dt.datetime.now(dt.UTC), settings)
    assert soon is not None and soon.counts["payments_checked"] == 0  # not due yet
    later = await run_all_jobs(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                               settings)
    assert later is not None and later.failed == {}
    assert later.counts["payments_checked"] == 1
    asked = [r["order_id"] for r in liqpay.requests if r["action"] == "status"]
    assert sorted(asked) == sorted([card.payment_id, parts.payment_id])
    assert all(r["public_key"] == PUBLIC and r["version"] == "3" for r in liqpay.requests)
    assert await state(web, order.order_id) == {
        "shop": (P.PAYMENT_STATE_PAID, "succeeded"), "fop": (P.PAYMENT_STATE_PENDING, "")}
    # the one still pending was asked just now: the next pass soon after leaves it alone
    again = await run_all_jobs(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                               settings)
    assert again is not None and again.counts["payments_checked"] == 0
    assert len([r for r in liqpay.requests if r["action"] == "status"]) == 2
    # the callback arriving after the job: harmless
    assert (await liqpay.post_callback(card.payment_id))[0] == 200
    assert (await state(web, order.order_id))["shop"][0] == P.PAYMENT_STATE_PAID


async def test_a_paid_card_payment_is_refunded_through_liqpay(
        app, admin, make_key, client_for, liqpay):
    web, order, card, _ = await world(app, admin, make_key, client_for, liqpay)
    await checkout(web, liqpay, card.payment_id)
    with rpc_error() as failure:  # not paid yet
        await admin.payments.RefundPayment(P.RefundPaymentRequest(
            request_id=rid(), payment_id=card.payment_id, reason="customer"))
    assert failure.reason == "PAYMENT_STATE_CONFLICT"
    liqpay.finish(card.payment_id, "success")
    await liqpay.post_callback(card.payment_id)
    part = await admin.payments.RefundPayment(P.RefundPaymentRequest(
        request_id=rid(), payment_id=card.payment_id, amount_minor=4690, reason="line 1"))
    assert (part.payment.refunded_minor, part.payment.state) == (4690, P.PAYMENT_STATE_PAID)
    rest = await admin.payments.RefundPayment(P.RefundPaymentRequest(
        request_id=rid(), payment_id=card.payment_id, reason="the rest"))
    assert (rest.payment.refunded_minor, rest.payment.state) == (24690,
                                                                P.PAYMENT_STATE_REVERSED)
    assert liqpay.payments[card.payment_id].refunds == ["46.90", "200.00"]
    refunds = [r for r in liqpay.requests if r["action"] == "refund"]
    assert [(r["order_id"], r["public_key"], r["version"]) for r in refunds] == [
        (card.payment_id, PUBLIC, "3")] * 2
    # LiqPay's reversal callback afterwards changes nothing more
    liqpay.finish(card.payment_id, "reversed")
    assert (await liqpay.post_callback(card.payment_id))[0] == 200
    assert (await state(web, order.order_id))["shop"][0] == P.PAYMENT_STATE_REVERSED


async def test_an_entity_with_its_own_liqpay_shop_is_paid_by_split_rules(
        app, admin, make_key, client_for, liqpay):
    from tests.e2e.payments_support import FOP

    own = P.LegalEntity()
    own.CopyFrom(FOP)
    own.liqpay_public_key = "i00000000777"
    await setup_shop(app, admin)
    await two_entities(admin)
    await admin.payments.UpsertLegalEntity(P.UpsertLegalEntityRequest(
        request_id=rid(), entity=own))
    liqpay.deliver_to = (SHOP_URL, f"http://127.0.0.1:{app.http.port}")
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, _ = await split_order(admin, web, phone="+380675550299")
    done = await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_CARD, 24690, "shop"),
            pay(P.ORDER_PAYMENT_METHOD_CARD, 8000, "fop")]))
    fop = next(p for p in done.payments.payments if p.entity_code == "fop")
    params = await checkout(web, liqpay, fop.payment_id)
    assert params["split_rules"] == [{"public_key": "i00000000777", "amount": "80.00",
                                      "commission_payer": "sender",
                                      "description": params["description"]}]
    liqpay.finish(fop.payment_id, "success")
    assert await liqpay.post_callback(fop.payment_id) == (200, "ok")
    assert (await state(web, order.order_id))["fop"][0] == P.PAYMENT_STATE_PAID
