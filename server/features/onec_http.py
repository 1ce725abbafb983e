"""HTTP catalog exchanges (1C's "Обмен с сайтом") served by the server, e.g. at /1c_exchange.

On when KOPILKA_HTTP_LISTEN is set and a plugin offers the "1c" catalog exchange as an
`HttpCatalogExchange` (the built-in `onec` plugin does once its section is configured):
1C then pushes its catalog on its own schedule and the products land in the catalog the
pricing engine reads. The exchange keeps its conversations in memory, so it runs in one
process: `kopilka serve` refuses KOPILKA_HTTP_LISTEN together with --workers > 1.
The core knows the contract only, never the plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from server.db.database import Database
from server.db.org.repo import upsert_products
from server.org.catalog_import import CatalogSync
from server.org.model import ProductInfo
from server.plugin_contracts import CatalogItem, HttpCatalogExchange
from server.plugin_host import PluginHost
from server.settings import Settings, split_host_port

if TYPE_CHECKING:
    from server.app import App

log = logging.getLogger("kopilka.onec")

EXCHANGE = "1c"


def _store_products(db: Database) -> Callable[[list[ProductInfo]], Awaitable[None]]:
    async def store(products: list[ProductInfo]) -> None:
        async with db.transaction() as session:  # one file, one transaction
            await upsert_products(session, products)
        log.info("1C catalog: %d products stored", len(products))

    return store


class HttpExchangeServer:
    """The aiohttp site of an HTTP catalog exchange; `port` is bound after `start()`."""

    def __init__(self, settings: Settings, exchange: HttpCatalogExchange, db: Database) -> None:
        self._listen = settings.http_listen
        sync = CatalogSync(_store_products(db))

        async def on_catalog(items: list[CatalogItem]) -> None:
            await sync.receive(items)

        self._endpoint = exchange.http_endpoint(on_catalog)  # refuses missing credentials
        self._runner = web.AppRunner(self._endpoint.app(), access_log=None)
        self.port = 0

    async def start(self, _: App) -> None:
        host, port = split_host_port(self._listen)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = int(self._runner.addresses[0][1])
        log.info("serving the 1C exchange", extra={
            "url": f"http://{self._listen}{self._endpoint.path}"})

    async def stop(self, _: App) -> None:
        await self._runner.cleanup()


def http_exchange(settings: Settings, plugins: PluginHost,
                  db: Database) -> HttpExchangeServer | None:
    """The HTTP exchange to serve, or None (no KOPILKA_HTTP_LISTEN, or nothing offers it)."""
    if not settings.http_listen:
        return None
    exchange = plugins.catalog_exchanges().get(EXCHANGE)
    if not isinstance(exchange, HttpCatalogExchange):  # not configured, or no HTTP side
        log.warning("KOPILKA_HTTP_LISTEN is set but no HTTP endpoint is configured: add an "
                    "`onec` section to KOPILKA_PLUGIN_SETTINGS for the 1C exchange")
        return None
    return HttpExchangeServer(settings, exchange, db)
