"""The LiqPay provider against a fake LiqPay on loopback that follows API v3.

The fake verifies the signature of every link and request with the merchant's private
key, keeps payments by order, answers ``action=status`` with LiqPay's JSON and, when a
payment changes, POSTs a *signed* callback (data + signature) to the ``server_url`` the
link carried, as LiqPay does. A shop endpoint on loopback receives those callbacks and
hands them to ``parse_callback``.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from plugins import liqpay
from plugins.liqpay import LiqPayError, signing
from server.plugin_api import InvalidSignatureError, PaymentNotice, PaymentRequest, PaymentState
from server.plugin_host import PluginHost, build_plugin_manager

PUBLIC_KEY = "sandbox_i12345678"
PRIVATE_KEY = "sandbox_Fq2bVbS9q8kLx0vT3yHf7nM1pR4wZ6uE"
CURRENCIES = {"UAH", "USD", "EUR"}


def liqpay_json(fields: dict[str, Any]) -> str:
    """JSON with Decimal amounts written as JSON numbers, as LiqPay writes them."""
    return json.dumps(fields, separators=(",", ":"),
                      default=lambda v: f"__num__{v}__num__").replace(
        '"__num__', "").replace('__num__"', "")


@dataclass
class FakePayment:
    payment_id: int
    order_id: str
    amount: Decimal
    currency: str
    description: str
    server_url: str
    status: str = "processing"

    def as_liqpay(self) -> dict[str, Any]:
        return {"result": "ok", "payment_id": self.payment_id, "action": "pay",
                "status": self.status, "version": 3, "type": "buy", "paytype": "card",
                "public_key": PUBLIC_KEY, "acq_id": 414963, "order_id": self.order_id,
                "liqpay_order_id": f"NYMK{self.payment_id}", "description": self.description,
                "amount": self.amount, "currency": self.currency,
                "sender_commission": Decimal("0.0"), "receiver_commission": Decimal("1.5"),
                "agent_commission": Decimal("0.0"), "create_date": 1700000000000,
                "end_date": 1700000000100, "transaction_id": self.payment_id}


@dataclass
class FakeLiqPay:
    """LiqPay's checkout page and server API for one merchant account."""

    payments: dict[str, FakePayment] = field(default_factory=dict)
    fail_with: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))
    port: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/3/checkout", self.checkout)
        app.router.add_post("/api/request", self.api_request)
        return app

    def _verified(self, data: str | None, signature: str | None) -> dict[str, Any] | None:
        if not data or not signature:
            return None
        try:
            signing.verify(PRIVATE_KEY, data, signature)
        except InvalidSignatureError:
            return None
        params = signing.decode(data)
        return params if params.get("public_key") == PUBLIC_KEY else None

    async def checkout(self, request: web.Request) -> web.Response:
        params = self._verified(request.query.get("data"), request.query.get("signature"))
        if params is None:
            return web.Response(status=403, text="invalid signature")
        problem = _pay_problem(params)
        if problem:
            return web.Response(status=400, text=problem)
        self.payments.setdefault(params["order_id"], FakePayment(
            next(self._ids), params["order_id"], Decimal(params["amount"]),
            params["currency"], params["description"], params.get("server_url", "")))
        return web.Response(text="<html>LiqPay checkout</html>", content_type="text/html")

    async def api_request(self, request: web.Request) -> web.Response:
        if self.fail_with:
            return web.Response(status=self.fail_with, text="upstream trouble")
        form = await request.post()
        params = self._verified(form.get("data"), form.get("signature"))  # type: ignore[arg-type]
        if params is None:
            return _error("invalid_signature", "Invalid signature")
        self.requests.append(params)
        if params.get("version") != "3" or params.get("action") != "status":
            return _error("invalid_params", "Unsupported action or version")
        payment = self.payments.get(params.get("order_id", ""))
        if payment is None:
            return _error("payment_not_found", "payment_not_found")
        return web.Response(text=liqpay_json(payment.as_liqpay()),
                            content_type="application/json")

    async def settle(self, order_id: str, status: str, *, key: str = PRIVATE_KEY) -> int:
        """Change a payment and POST the signed callback to its server_url."""
        payment = self.payments[order_id]
        payment.status = status
        body = payment.as_liqpay()
        body.pop("result")  # callbacks carry the payment, not an API result
        data = base64.b64encode(liqpay_json(body).encode()).decode()
        async with (aiohttp.ClientSession() as session,
                    session.post(payment.server_url,
                                 data={"data": data,
                                       "signature": signing.sign(key, data)}) as answer):
            return answer.status


def _pay_problem(params: dict[str, Any]) -> str:
    for key in ("version", "action", "amount", "currency", "description", "order_id"):
        if not params.get(key):
            return f"missing {key}"
    if params["version"] != "3" or params["action"] != "pay":
        return "unsupported version or action"
    if params["currency"] not in CURRENCIES:
        return "unsupported currency"
    amount = Decimal(params["amount"])
    if amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return "bad amount"
    return ""


def _error(code: str, description: str) -> web.Response:
    return web.json_response({"result": "error", "status": "error", "err_code": code,
                              "err_description": description})


@dataclass
class Shop:
    """The merchant's callback endpoint: what LiqPay's server-to-server POST reaches."""

    provider: Any = None
    notices: list[PaymentNotice] = field(default_factory=list)
    port: int = 0

    async def callback(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            notice = self.provider.parse_callback({k: str(v) for k, v in form.items()})
        except InvalidSignatureError:
            return web.Response(status=400, text="forged")
        self.notices.append(notice)
        return web.Response(text="ok")


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeLiqPay, Shop, Any]]:
    fake, shop = FakeLiqPay(), Shop()
    fake_runner, fake.port = await _serve(fake.app())
    shop_app = web.Application()
    shop_app.router.add_post("/liqpay/callback", shop.callback)
    shop_runner, shop.port = await _serve(shop_app)
    shop.provider = provider_for(fake.port, shop.port)
    yield fake, shop, shop.provider
    await shop_runner.cleanup()
    await fake_runner.cleanup()


def settings_for(fake_port: int, shop_port: int, **extra: str) -> dict[str, dict[str, str]]:
    base = f"http://127.0.0.1:{fake_port}"
    return {"liqpay": {"public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY,
                       "api_url": f"{base}/api/request", "checkout_url": f"{base}/api/3/checkout",
                       "server_url": f"http://127.0.0.1:{shop_port}/liqpay/callback",
                       "result_url": "https://shop.test/thanks", "timeout": "2", **extra}}


def provider_for(fake_port: int, shop_port: int, **extra: str) -> Any:
    pm = build_plugin_manager(load_entry_points=False, environ={})
    if pm.get_plugin("liqpay") is None:
        pm.register(liqpay, name="liqpay")
    pm.check_pending()
    return PluginHost(pm, settings_for(fake_port, shop_port, **extra)).payment_providers()[
        "liqpay"]


async def open_link(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


def order(order_id: str = "K-1001", amount_minor: int = 12345) -> PaymentRequest:
    return PaymentRequest(order_id=order_id, amount_minor=amount_minor, currency="UAH",
                          description="Подарунковий сертифікат")


async def test_link_is_accepted_by_liqpay_and_carries_the_exact_amount(world) -> None:
    fake, _, provider = world
    checkout = await provider.create_checkout(order())
    assert checkout.url.startswith(f"http://127.0.0.1:{fake.port}/api/3/checkout?data=")
    assert set(checkout.form_fields) == {"data", "signature"}
    assert await open_link(checkout.url) == 200
    assert fake.payments["K-1001"].amount == Decimal("123.45")
    assert fake.payments["K-1001"].currency == "UAH"


async def test_tampered_link_is_refused_by_liqpay(world) -> None:
    fake, _, provider = world
    checkout = await provider.create_checkout(order())
    cheaper = signing.encode({**signing.decode(checkout.form_fields["data"]), "amount": "0.01"})
    base = checkout.url.partition("?")[0]
    tampered = {"data": cheaper, "signature": checkout.form_fields["signature"]}
    assert await open_link(f"{base}?{urlencode(tampered)}") == 403
    assert fake.payments == {}


async def test_status_follows_the_payment_and_amounts_are_exact(world) -> None:
    fake, _, provider = world
    await open_link((await provider.create_checkout(order("K-7", 123456789))).url)
    pending = await provider.fetch_status("K-7")
    assert (pending.state, pending.order_id) == (PaymentState.PENDING, "K-7")
    fake.payments["K-7"].status = "success"
    paid = await provider.fetch_status("K-7")
    assert paid.state is PaymentState.SUCCEEDED
    assert (paid.amount_minor, paid.currency) == (123456789, "UAH")
    assert paid.provider_payment_id == str(fake.payments["K-7"].payment_id)
    assert fake.requests[-1] == {"action": "status", "version": "3",
                                 "public_key": PUBLIC_KEY, "order_id": "K-7"}


async def test_status_of_an_order_never_paid_is_pending(world) -> None:
    _, _, provider = world
    notice = await provider.fetch_status("never-opened")
    assert notice.state is PaymentState.PENDING and notice.provider_payment_id is None


async def test_liqpay_refuses_requests_signed_with_a_wrong_key(world) -> None:
    fake, shop, _ = world
    wrong = provider_for(fake.port, shop.port, private_key="not-the-merchant-key")
    with pytest.raises(LiqPayError) as caught:
        await wrong.fetch_status("K-1")
    assert caught.value.code == "invalid_signature" and not caught.value.retryable


async def test_server_errors_are_reported_as_retryable(world) -> None:
    fake, _, provider = world
    fake.fail_with = 502
    with pytest.raises(LiqPayError) as caught:
        await provider.fetch_status("K-1")
    assert caught.value.retryable and caught.value.code == "http_502"


async def test_unreachable_liqpay_is_retryable(world) -> None:
    _, shop, _ = world
    with pytest.raises(LiqPayError) as caught:
        await provider_for(1, shop.port).fetch_status("K-1")
    assert caught.value.retryable


@pytest.mark.parametrize(("status", "state"), [
    ("success", PaymentState.SUCCEEDED), ("failure", PaymentState.FAILED),
    ("reversed", PaymentState.REVERSED), ("wait_accept", PaymentState.PENDING)])
async def test_signed_callbacks_reach_the_shop(world, status: str, state: PaymentState) -> None:
    fake, shop, provider = world
    await open_link((await provider.create_checkout(order("K-9", 29))).url)
    assert await fake.settle("K-9", status) == 200
    (notice,) = shop.notices
    assert (notice.order_id, notice.state, notice.amount_minor) == ("K-9", state, 29)


async def test_forged_callback_is_rejected_by_the_shop(world) -> None:
    fake, shop, provider = world
    await open_link((await provider.create_checkout(order("K-10"))).url)
    assert await fake.settle("K-10", "success", key="attacker") == 400
    assert shop.notices == []


async def test_without_a_section_liqpay_offers_nothing() -> None:
    pm = build_plugin_manager(load_entry_points=False, environ={})
    if pm.get_plugin("liqpay") is None:
        pm.register(liqpay, name="liqpay")
    assert PluginHost(pm, {"smpp": {"host": "x"}}).payment_providers() == {}
