"""HTTP catalog exchanges (1C's "Обмен с сайтом") served by the server, e.g. at /1c_exchange.

On when KOPILKA_HTTP_LISTEN is set and a plugin offers the "1c" catalog exchange as an
`HttpCatalogExchange` (the built-in `onec` plugin does once its section is configured),
mounted on the server's one HTTP site (`server.features.http`):
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
from server.features.http import HttpMount
from server.org.catalog_import import CatalogSync
from server.org.model import ProductInfo
from server.plugin_contracts import CatalogItem, HttpCatalogExchange, HttpEndpoint
from server.plugin_host import PluginHost
from server.settings import Settings

if TYPE_CHECKING:
    from server.api.deps import ApiDeps

log = logging.getLogger("kopilka.onec")

EXCHANGE = "1c"


def _store_products(db: Database) -> Callable[[list[ProductInfo]], Awaitable[None]]:
    async def store(products: list[ProductInfo]) -> None:
        async with db.transaction() as session:  # one file, one transaction
            await upsert_products(session, products)
        log.info("1C catalog: %d products stored", len(products))

    return store


def onec_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps) -> HttpMount | None:
    """The 1C exchange's routes, or None when no plugin offers it over HTTP."""
    exchange = plugins.catalog_exchanges().get(EXCHANGE)
    if not isinstance(exchange, HttpCatalogExchange):  # not configured, or no HTTP side
        return None
    sync = CatalogSync(_store_products(deps.db))

    async def on_catalog(items: list[CatalogItem]) -> None:
        await sync.receive(items)

    endpoint = exchange.http_endpoint(on_catalog)  # refuses missing credentials
    return HttpMount("the 1C exchange", endpoint.path, _mount_endpoint(endpoint),
                     single_process=True)


def _mount_endpoint(endpoint: HttpEndpoint) -> Callable[[web.Application], None]:
    def add_routes(root: web.Application) -> None:
        endpoint.add_routes(root)

        async def close(_: web.Application) -> None:
            await endpoint.close()

        root.on_cleanup.append(close)

    return add_routes
