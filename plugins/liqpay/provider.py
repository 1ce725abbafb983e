"""The "liqpay" PaymentProvider: LiqPay API v3 payment links, callbacks and status.

- ``create_checkout`` builds a payment link (``checkout_url?data=...&signature=...``)
  and the same two fields for an HTML form POST; no network call is needed.
- ``parse_callback`` verifies LiqPay's server-to-server callback before decoding it.
- ``fetch_status`` POSTs a signed ``action=status`` request to the API; LiqPay answers
  plain JSON. Use it for callbacks that never came.
- ``refund`` asks LiqPay to refund (``action=refund``); ``refund_status`` reads what was
  refunded from the status answer (``refund_amount``), for refunds whose answer was lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp

from plugins.liqpay import amounts, signing
from plugins.liqpay.settings import LiqPaySettings
from plugins.liqpay.statuses import to_state
from server.plugin_api import PaymentCheckout, PaymentNotice, PaymentRequest, PaymentState

API_VERSION = "3"
MAX_ORDER_ID = 255  # LiqPay's limit on order_id length
INSTALLMENT_PAYTYPES = "moment_part,paypart"  # LiqPay's installment / parts payment


class LiqPayError(RuntimeError):
    """LiqPay refused a request or could not be reached.

    ``retryable`` is true for network failures, timeouts, HTTP 429 and 5xx: asking again
    later may succeed. ``code`` is LiqPay's ``err_code`` or ``http_<status>``.
    """

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class LiqPayProvider:
    """One merchant account; stateless, so one instance serves every caller."""

    def __init__(self, settings: LiqPaySettings) -> None:
        self.settings = settings
        self.name = settings.name

    async def create_checkout(self, request: PaymentRequest) -> PaymentCheckout:
        return self._checkout(self.checkout_params(request))

    async def create_installment_checkout(self, request: PaymentRequest) -> PaymentCheckout:
        """The installment product ("Оплата частинами"): the same checkout showing only
        LiqPay's parts payments (``paytypes`` ``moment_part`` and ``paypart``)."""
        return self._checkout(self.checkout_params(request, paytypes=INSTALLMENT_PAYTYPES))

    async def create_split_checkout(self, request: PaymentRequest,
                                    receivers: Sequence[tuple[str, int]], *,
                                    installments: bool = False) -> PaymentCheckout:
        """One card charge credited to other LiqPay shops (``split_rules``, contract
        section 6): (public key, amount) per receiver; the amounts must add up to the
        payment's (LiqPay answers ``err_split_amount`` otherwise, so it is refused here)."""
        if sum(amount for _, amount in receivers) != request.amount_minor:
            raise ValueError("split amounts must add up to the payment amount")
        rules = [{"public_key": key, "amount": amounts.render(amount, request.currency),
                  "commission_payer": "sender", "description": request.description}
                 for key, amount in receivers]
        params: dict[str, Any] = dict(self.checkout_params(
            request, paytypes=INSTALLMENT_PAYTYPES if installments else ""))
        params["split_rules"] = rules
        return self._checkout(params)

    def _checkout(self, params: Mapping[str, Any]) -> PaymentCheckout:
        fields = signing.envelope(self.settings.private_key, params)
        url = f"{self.settings.checkout_url}?{urlencode(fields)}"
        return PaymentCheckout(self.name, str(params["order_id"]), url, fields)

    async def refund(self, order_id: str, amount_minor: int, currency: str) -> str:
        """Refund (part of) a paid payment (``action=refund``); LiqPay's status word.

        Raises ``LiqPayError`` unless LiqPay answers ``reversed`` or ``success``.
        """
        _check_order_id(order_id)
        body = await self._call({"action": "refund", "version": API_VERSION,
                                 "public_key": self.settings.public_key,
                                 "order_id": order_id,
                                 "amount": amounts.render(amount_minor, currency)})
        status = body.get("status")
        if body.get("result") == "error" or status not in ("reversed", "success"):
            raise LiqPayError(f"LiqPay refund failed: {body.get('err_code') or status}: "
                              f"{body.get('err_description') or ''}",
                              code=str(body.get("err_code") or status or ""))
        return str(status)

    async def refund_status(self, order_id: str) -> tuple[str, int]:
        """(status word, total refunded in minor units) from ``action=status`` (contract
        sections 3 and 5): ``refund_amount`` when LiqPay reports it, else the whole amount
        for ``reversed`` and nothing otherwise. Raises ``LiqPayError`` when LiqPay does not
        know the payment or refuses: the caller asks again later."""
        _check_order_id(order_id)
        body = await self._call({"action": "status", "version": API_VERSION,
                                 "public_key": self.settings.public_key,
                                 "order_id": order_id})
        status = body.get("status")
        if body.get("result") == "error" or not isinstance(status, str) or status == "error":
            raise LiqPayError(f"LiqPay status failed: {body.get('err_code')}: "
                              f"{body.get('err_description')}",
                              code=str(body.get("err_code") or ""), retryable=True)
        if body.get("order_id") != order_id:
            raise LiqPayError(f"LiqPay answered for order {body.get('order_id')!r}, "
                              f"asked for {order_id!r}")
        currency = str(body.get("currency") or "")
        try:
            if body.get("refund_amount") is not None:
                return status, amounts.parse(body["refund_amount"], currency)
            if status == "reversed":
                return status, amounts.parse(body.get("amount"), currency)
        except ValueError as exc:
            raise LiqPayError(f"LiqPay status answer is malformed: {exc}") from exc
        return status, 0

    def checkout_params(self, request: PaymentRequest, *,
                        paytypes: str = "") -> dict[str, str]:
        """The ``pay`` parameters LiqPay receives inside ``data``; validates the request."""
        _check_order_id(request.order_id)
        if not request.description.strip():
            raise ValueError("description must not be empty")
        s = self.settings
        params = {
            "public_key": s.public_key,
            "version": API_VERSION,
            "action": "pay",
            "amount": amounts.render(request.amount_minor, request.currency),
            "currency": request.currency,
            "description": request.description,
            "order_id": request.order_id,
        }
        optional = {
            "result_url": request.result_url or s.result_url,
            "server_url": request.callback_url or s.server_url,
            "language": s.language,
            "sandbox": "1" if s.sandbox else "",
            "paytypes": paytypes,
        }
        params.update({key: value for key, value in optional.items() if value})
        return params

    def parse_callback(self, form: Mapping[str, str]) -> PaymentNotice:
        payload = signing.open_envelope(self.settings.private_key, form)
        return self._notice(payload)

    async def fetch_status(self, order_id: str) -> PaymentNotice:
        _check_order_id(order_id)
        body = await self._call({"action": "status", "version": API_VERSION,
                                 "public_key": self.settings.public_key,
                                 "order_id": order_id})
        if body.get("err_code") == "payment_not_found":  # the buyer never paid (yet)
            return PaymentNotice(self.name, order_id, PaymentState.PENDING)
        if body.get("result") == "error" or "status" not in body:
            raise LiqPayError(f"LiqPay status failed: {body.get('err_code')}: "
                              f"{body.get('err_description')}",
                              code=str(body.get("err_code") or ""))
        try:
            notice = self._notice(body)
        except ValueError as exc:
            raise LiqPayError(f"LiqPay status answer is malformed: {exc}") from exc
        if notice.order_id != order_id:
            raise LiqPayError(f"LiqPay answered for order {notice.order_id!r}, "
                              f"asked for {order_id!r}")
        return notice

    async def _call(self, params: Mapping[str, str]) -> dict[str, Any]:
        """POST a signed request; the answer is a JSON object (not signed by LiqPay)."""
        form = signing.envelope(self.settings.private_key, params)
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        try:
            async with (aiohttp.ClientSession(timeout=timeout) as session,
                        session.post(self.settings.api_url, data=form) as response):
                if response.status != 200:
                    raise LiqPayError(f"LiqPay answered HTTP {response.status}",
                                      code=f"http_{response.status}",
                                      retryable=response.status == 429
                                      or response.status >= 500)
                body = await response.json(content_type=None,
                                           loads=signing.json_loads)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise LiqPayError(f"LiqPay unreachable: {exc!r}", retryable=True) from exc
        except ValueError as exc:
            raise LiqPayError(f"LiqPay answered invalid JSON: {exc}",
                              retryable=True) from exc
        if not isinstance(body, dict):
            raise LiqPayError("LiqPay answered a non-object JSON", retryable=True)
        return body

    def _notice(self, payload: Mapping[str, Any]) -> PaymentNotice:
        status = payload.get("status")
        order_id = payload.get("order_id")
        if not isinstance(status, str) or not isinstance(order_id, str) or not order_id:
            raise ValueError("LiqPay payload lacks status or order_id")
        currency = payload.get("currency")
        amount = payload.get("amount")
        payment_id = payload.get("payment_id")
        return PaymentNotice(
            provider=self.name,
            order_id=order_id,
            state=to_state(status, sandbox_mode=self.settings.sandbox),
            provider_payment_id=None if payment_id is None else str(payment_id),
            amount_minor=None if amount is None or not isinstance(currency, str)
            else amounts.parse(amount, currency),
            currency=currency if isinstance(currency, str) else None,
        )


def _check_order_id(order_id: str) -> None:
    if not isinstance(order_id, str) or not order_id.strip():
        raise ValueError("order_id must not be empty")
    if len(order_id) > MAX_ORDER_ID:
        raise ValueError(f"order_id longer than {MAX_ORDER_ID} characters")
