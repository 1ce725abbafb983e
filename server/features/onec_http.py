"""HTTP catalog exchanges (1C's "Обмен с сайтом") served by the server, e.g. at /1c_exchange.

On when KOPILKA_HTTP_LISTEN is set and a plugin offers the "1c" catalog exchange as an
`HttpCatalogExchange` (the built-in `onec` plugin does once its section is configured),
mounted on the server's one HTTP site (`server.features.http`). 1C pushes its catalog on
its own schedule (products land in the catalog the pricing engine reads; balances per
warehouse land in stock_balances through the function SetStock uses), downloads the orders
changed since its last success, and sends back what became of them (applied through the
orders' application service, as ConfirmOrder/CompleteOrder/CancelOrder are).

The exchange's state lives in the database (server/db/onec/), so it runs with any number
of workers and survives a restart between two files. The core knows the contract only,
never the plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from server.audit.actor import Actor, acting
from server.db.audit.repo import Change, record
from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.db.onec.repo import SqlExchangeState, mark_exported, orders_to_export
from server.db.orders.stock import set_balances
from server.db.org.repo import upsert_products
from server.errors import DomainError
from server.features.http import HttpMount
from server.org.catalog_import import CatalogSync
from server.org.model import ProductInfo
from server.plugin_contracts import (
    CatalogItem,
    ExchangeHooks,
    HttpCatalogExchange,
    HttpEndpoint,
    OrderStatus,
    StockRow,
)
from server.plugin_host import PluginHost
from server.settings import Settings

if TYPE_CHECKING:
    from server.api.deps import ApiDeps

log = logging.getLogger("kopilka.onec")

EXCHANGE = "1c"
ACTOR = Actor("erp:1c")  # who the exchange's changes are by, in history and audit
STORED = "kopilka-stored"  # variant_id of an item standing for what the database holds


def _store_products(db: Database) -> Callable[[list[ProductInfo]], Awaitable[None]]:
    async def store(products: list[ProductInfo]) -> None:
        async with db.transaction() as session:  # one file, one transaction
            await upsert_products(session, products)
        log.info("1C catalog: %d products stored", len(products))

    return store


async def _stored_items(db: Database, skus: Sequence[str]) -> list[CatalogItem]:
    """The products as stored, for SKUs this process has not seen from 1C (another worker
    or a run before a restart stored them): a later file that names only some of their
    items (offers.xml's variants) keeps their attributes and other barcodes."""
    async with db.transaction() as session:
        conn = await raw_connection(session)
        rows = await conn.fetch(
            "SELECT p.sku, p.name, p.group_code, p.subgroup_code, p.brand, coalesce(array_agg("
            "b.barcode ORDER BY b.barcode) FILTER (WHERE b.barcode IS NOT NULL), '{}') AS "
            "barcodes FROM products p LEFT JOIN product_barcodes b ON b.sku = p.sku "
            "WHERE p.sku = ANY($1) GROUP BY p.sku", list(skus))
    return [CatalogItem(sku=r["sku"], name=r["name"], group=r["group_code"] or None,
                        subgroup=r["subgroup_code"] or None, brand=r["brand"] or None,
                        barcodes=tuple(r["barcodes"]), variant_id=STORED) for r in rows]


def _on_stock(db: Database) -> Callable[[list[StockRow]], Awaitable[list[str]]]:
    async def on_stock(rows: list[StockRow]) -> list[str]:
        balances = [(r.store_code, r.sku, r.quantity_milli) for r in rows]
        try:
            with acting(ACTOR):
                async with db.transaction() as session:
                    written = await set_balances(session, balances, "stock")
                    await record(session, Change("stock", "balances", "set_from_1c", None,
                                                 {"count": written}))
        except DomainError as exc:  # an unknown store or SKU: nothing of the stock written
            problems = "; ".join(f"{v.field}: {v.description}" for v in exc.violations[:5])
            raise ValueError(f"stock not stored: {problems or exc.message}") from exc
        log.info("1C stock: %d balances stored", written)
        return [f"stored {written} stock balances"]

    return on_stock


def _on_statuses(deps: ApiDeps) -> Callable[[list[OrderStatus]], Awaitable[list[str]]]:
    from server.api.servicers.orders import OrderServicer

    orders = OrderServicer(deps)

    async def on_statuses(statuses: list[OrderStatus]) -> list[str]:
        notes = []
        for status in statuses:  # each order its own change: one refusal stops no other
            try:
                notes.append(await orders.apply_erp_status(ACTOR, status.order_id,
                                                           status.action, status.reason))
            except DomainError as exc:
                log.info("1C order status refused", extra={"reason": exc.reason})
                notes.append(f"{status.order_id}: refused {status.action}: {exc.reason}")
        return notes

    return on_statuses


def onec_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps) -> HttpMount | None:
    """The 1C exchange's routes, or None when no plugin offers it over HTTP."""
    exchange = plugins.catalog_exchanges().get(EXCHANGE)
    if not isinstance(exchange, HttpCatalogExchange):  # not configured, or no HTTP side
        return None
    db = deps.db
    sync = CatalogSync(_store_products(db))
    seen: set[str] = set()

    async def on_catalog(items: list[CatalogItem]) -> None:
        unseen = sorted({item.sku for item in items} - seen)
        stored = await _stored_items(db, unseen) if unseen else []
        await sync.receive([*stored, *items])
        seen.update(item.sku for item in items)

    async def orders_exported(pairs: list[tuple[str, int]]) -> None:
        await mark_exported(db, pairs)

    hooks = ExchangeHooks(state=SqlExchangeState(db),
                          orders_query=lambda: orders_to_export(db),
                          orders_exported=orders_exported, on_stock=_on_stock(db),
                          on_statuses=_on_statuses(deps))
    endpoint = exchange.http_endpoint(on_catalog, hooks)  # refuses missing credentials
    return HttpMount("the 1C exchange", endpoint.path, _mount_endpoint(endpoint))


def _mount_endpoint(endpoint: HttpEndpoint) -> Callable[[web.Application], None]:
    def add_routes(root: web.Application) -> None:
        endpoint.add_routes(root)

        async def close(_: web.Application) -> None:
            await endpoint.close()

        root.on_cleanup.append(close)

    return add_routes
