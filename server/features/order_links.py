"""The customer's side of online orders on the HTTP site: alternatives' signed links.

GET  /orders/alternatives/{token}  shows the offered product and a button;
POST /orders/alternatives/{token}  accepts it: the order's line is replaced (once; the
                                   line's other links stop working).

The token is HMAC-signed by the server (purpose `web_order_offer`, server/orders/
alternatives.py); a forged or altered one is refused (403), a used or expired one is gone
(410), an order that can no longer change says so (409). The page shows product, price and
order number only: no personal data. Every worker can serve every link (no state in memory).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from aiohttp import web

from server.errors import DomainError
from server.features.http import HttpMount

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.plugin_host import PluginHost
    from server.settings import Settings

PREFIX = "/orders/"


def _page(status: int, title: str, body: str) -> web.Response:
    text = (f"<!doctype html><html lang=\"uk\"><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"{body}</body></html>")
    return web.Response(status=status, text=text, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                 "Content-Security-Policy": "default-src 'none'; "
                                 "form-action 'self'"})


def order_links_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps
                      ) -> HttpMount | None:
    """The links' routes; always on when the HTTP site is."""
    from server.api.servicers.orders import OfferClosed, OrderServicer

    orders = OrderServicer(deps)

    async def show(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            offer, name = await orders.offer_of(token)
        except DomainError:
            return _page(403, "Посилання недійсне", "<p>Invalid link.</p>")
        if offer.used_at is not None or deps.clock() >= offer.expires_at:
            return _page(410, "Посилання вже не діє", "<p>This link was used or expired.</p>")
        price = f"{offer.unit_price // 100}.{offer.unit_price % 100:02d}"
        return _page(200, "Заміна товару", (
            f"<p>{html.escape(name or offer.sku)} ({html.escape(offer.sku)}), {price}</p>"
            f"<form method=\"post\"><button type=\"submit\">Обрати / Choose</button></form>"))

    async def accept(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            order = await orders.accept_offer(token)
        except OfferClosed:
            return _page(410, "Посилання вже не діє", "<p>This link was used or expired.</p>")
        except DomainError as error:
            if error.reason in ("TOKEN_INVALID", "ORDER_NOT_FOUND"):
                return _page(403, "Посилання недійсне", "<p>Invalid link.</p>")
            return _page(409, "Замовлення вже не можна змінити",
                         "<p>The order can no longer be changed.</p>")
        number = html.escape(order.external_number or str(order.id))
        return _page(200, "Дякуємо!", f"<p>Order {number}: the replacement is added.</p>")

    def add_routes(root: web.Application) -> None:
        root.router.add_get(PREFIX + "alternatives/{token}", show)
        root.router.add_post(PREFIX + "alternatives/{token}", accept)

    return HttpMount("online-order links", PREFIX, add_routes)
