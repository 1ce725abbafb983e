"""1C's HTTP exchange ("Обмен с сайтом") served by the server at /1c_exchange.

On when KOPILKA_HTTP_LISTEN is set and the `onec` plugin section is configured (with the
username and password 1C logs in with): 1C then pushes its catalog on its own schedule and
the products land in the catalog the pricing engine reads. The exchange keeps its
conversations in memory, so it runs in one process: `kopilka serve` refuses
KOPILKA_HTTP_LISTEN together with --workers > 1.

`app.deps.extras["http_port"]` is the bound port once the app has started.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from plugins.contracts import CatalogItem
from plugins.onec import OneCExchange
from plugins.onec.exchange_http import OneCHttpExchange
from server.db.database import Database
from server.db.org_repo import upsert_products
from server.org.catalog_import import CatalogSync
from server.org.model import ProductInfo
from server.settings import split_host_port

if TYPE_CHECKING:
    from server.app import App

log = logging.getLogger("kopilka.onec")


def _store_products(db: Database) -> Callable[[list[ProductInfo]], Awaitable[None]]:
    async def store(products: list[ProductInfo]) -> None:
        async with db.transaction() as session:  # one file, one transaction
            await upsert_products(session, products)
        log.info("1C catalog: %d products stored", len(products))

    return store


def setup(app: App) -> None:
    """FEATURE_SETUP entry (after the outbox feature, which builds the plugin host)."""
    if not app.settings.http_listen:
        return
    exchange = app.deps.extras["plugins"].catalog_exchanges().get("1c")
    if not isinstance(exchange, OneCExchange):  # not configured (or another plugin's "1c")
        log.warning("KOPILKA_HTTP_LISTEN is set but no HTTP endpoint is configured: add an "
                    "`onec` section to KOPILKA_PLUGIN_SETTINGS for the 1C exchange")
        return
    if not (exchange.settings.username and exchange.settings.password):
        raise ValueError("the 1C exchange needs onec.username and onec.password "
                         "(what 1C logs in with) in KOPILKA_PLUGIN_SETTINGS")
    sync = CatalogSync(_store_products(app.db))

    async def on_catalog(items: list[CatalogItem]) -> None:
        await sync.receive(items)

    endpoint = OneCHttpExchange(exchange, on_catalog)
    runner = web.AppRunner(endpoint.app(), access_log=None)

    async def start(app: App) -> None:
        host, port = split_host_port(app.settings.http_listen)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        app.deps.extras["http_port"] = runner.addresses[0][1]
        log.info("serving the 1C exchange", extra={
            "url": f"http://{app.settings.http_listen}{endpoint.path}"})

    async def stop(app: App) -> None:
        await runner.cleanup()

    app.on_start.append(start)
    app.on_stop.append(stop)
