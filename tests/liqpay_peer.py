"""A fake LiqPay (API v3) on loopback, following /work/shared/contracts/liqpay.md to the field.

- GET/POST /api/3/checkout: the buyer opens the link; `data`/`signature` are verified
  (base64(sha1_binary(private_key + data + private_key))) and the payment is remembered
  (status `prepared`), with its `server_url`.
- POST /api/request: `action=status` answers the callback's shape (section 3/5) or
  `{"status":"error","err_code":"payment_not_found",...}`; `action=refund` answers
  `{"result":"ok","status":"reversed",...}` (contract section 5) and counts the refund: the
  status answer then carries `refund_amount` (the total refunded, section 3) and its status
  becomes `reversed` once all was refunded (a partial refund leaves `success`: how LiqPay
  words a partly refunded payment is unverified). `refund_error` makes refunds answer that
  `err_code`; `refund_delay` holds each refund answer (concurrency tests). A wrong
  signature answers `invalid_signature`.
- `finish(order_id, status)` is the buyer paying (or failing): the status changes and, unless
  `callback=False`, LiqPay POSTs the signed callback (`data`, `signature`) to `server_url`,
  over real HTTP (`deliver_to` rewrites the public host to the test server's port).

The signature code here is written from the contract, not imported from the plugin.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web


def sign(private_key: str, data: str) -> str:
    return base64.b64encode(hashlib.sha1((private_key + data + private_key).encode())
                            .digest()).decode()


def pack(private_key: str, payload: dict[str, Any]) -> dict[str, str]:
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    return {"data": data, "signature": sign(private_key, data)}


@dataclass
class FakePayment:
    params: dict[str, Any]
    status: str = "prepared"
    payment_id: int = 0
    refunds: list[str] = field(default_factory=list)


class FakeLiqPay:
    def __init__(self, public_key: str, private_key: str) -> None:
        self.public_key = public_key
        self.private_key = private_key
        self.payments: dict[str, FakePayment] = {}
        self.requests: list[dict[str, Any]] = []
        self.deliver_to: tuple[str, str] = ("", "")  # (public prefix, local prefix)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._next_id = 1000000
        self.refund_error = ""  # an err_code refunds answer (e.g. "payment_err_status")
        self.refund_delay = 0.0  # seconds each refund answer is held

    @property
    def refund_calls(self) -> int:
        """How many refund requests came (any payment, refused ones too)."""
        return sum(1 for r in self.requests if r.get("action") == "refund")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/3/checkout", self._checkout)
        app.router.add_post("/api/request", self._request)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _open(self, form: Any) -> dict[str, Any] | None:
        data, signature = form.get("data"), form.get("signature")
        if not data or signature != sign(self.private_key, data):
            return None
        decoded: dict[str, Any] = json.loads(base64.b64decode(data), parse_float=Decimal)
        return decoded

    async def _checkout(self, request: web.Request) -> web.Response:
        form = request.query if request.method == "GET" else await request.post()
        params = self._open(form)
        if params is None:
            return web.json_response({"status": "error", "err_code": "invalid_signature",
                                      "err_description": "Invalid signature"})
        for key in ("version", "public_key", "action", "amount", "currency", "description",
                    "order_id"):
            if key not in params:
                return web.json_response({"status": "error", "err_code": "err_path",
                                          "err_description": f"{key} is required"})
        rules = params.get("split_rules")
        if rules is not None:
            split = sum(Decimal(str(r["amount"])) for r in rules)
            if not isinstance(rules, list) or split != Decimal(str(params["amount"])) \
                    or not all(r.get("public_key") for r in rules):
                return web.json_response({"status": "error", "err_code": "err_split_amount",
                                          "err_description": "Split amount is invalid"})
        self.payments[params["order_id"]] = FakePayment(params)
        return web.Response(text="<html>LiqPay checkout</html>", content_type="text/html")

    def answer(self, p: FakePayment) -> dict[str, Any]:
        """The callback / status shape (contract section 3)."""
        now = int(time.time() * 1000)
        return {"action": p.params["action"], "payment_id": p.payment_id,
                "status": p.status, "version": 3, "type": "buy", "paytype": "card",
                "public_key": self.public_key, "acq_id": 414963,
                "order_id": p.params["order_id"], "liqpay_order_id": f"L{p.payment_id}",
                "description": p.params["description"], "sender_card_mask2": "414963*21",
                "sender_card_type": "visa", "amount": float(Decimal(p.params["amount"])),
                "currency": p.params["currency"], "sender_commission": 0.0,
                "receiver_commission": 0.0, "create_date": now, "end_date": now,
                "transaction_id": p.payment_id, "is_3ds": False,
                **({"refund_amount": float(sum(Decimal(x) for x in p.refunds))}
                   if p.refunds else {})}

    async def _request(self, request: web.Request) -> web.Response:
        params = self._open(await request.post())
        if params is None:
            return web.json_response({"result": "error", "status": "error",
                                      "err_code": "invalid_signature",
                                      "err_description": "Invalid signature"})
        self.requests.append(params)
        p = self.payments.get(params.get("order_id", ""))
        if p is None or p.status == "prepared":
            return web.json_response({"result": "error", "status": "error",
                                      "err_code": "payment_not_found",
                                      "err_description": "Payment not found"})
        if params.get("action") == "status":
            return web.json_response(self.answer(p))
        if params.get("action") == "refund":
            if self.refund_delay:
                await asyncio.sleep(self.refund_delay)
            left = Decimal(str(p.params["amount"])) - sum(Decimal(x) for x in p.refunds)
            if self.refund_error or p.status != "success" \
                    or Decimal(str(params.get("amount", left))) > left:
                return web.json_response({"result": "error", "status": "error",
                                          "err_code": self.refund_error or "payment_err_status",
                                          "err_description": "Payment status is invalid"})
            p.refunds.append(str(params.get("amount", left)))
            if Decimal(str(params.get("amount", left))) == left:
                p.status = "reversed"
            return web.json_response({"result": "ok", "payment_id": p.payment_id,
                                      "status": "reversed", "wait_amount": False})
        return web.json_response({"result": "error", "status": "error", "err_code": "err_path",
                                  "err_description": "unknown action"})

    def finish(self, order_id: str, status: str) -> FakePayment:
        p = self.payments[order_id]
        self._next_id += 1
        p.payment_id = p.payment_id or self._next_id
        p.status = status
        return p

    def callback_form(self, key: str, **changes: Any) -> dict[str, str]:
        """The signed callback of the payment LiqPay knows as `key`, fields changed."""
        payload = {**self.answer(self.payments[key]), **changes}
        return pack(self.private_key, payload)

    async def post_callback(self, order_id: str, form: dict[str, str] | None = None
                            ) -> tuple[int, str]:
        """POST the callback to the payment's server_url; (HTTP status, body)."""
        target = self.payments[order_id].params["server_url"]
        public, local = self.deliver_to
        if public and target.startswith(public):
            target = local + target.removeprefix(public)
        async with aiohttp.ClientSession() as session, session.post(
                target, data=form or self.callback_form(order_id)) as response:
            return response.status, await response.text()
