"""The "1c" CatalogExchange: CommerceML 2 in both directions.

It remembers the products of the packages it parsed (1C ``Ид`` by SKU and by ``Ид``),
so a later prices-only package resolves its offers and exported orders name the
nomenclature by the ``Ид`` 1C knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from plugins.onec.catalog import ParsedCatalog, Product, parse_package
from plugins.onec.orders import render
from plugins.onec.settings import OneCSettings
from server.plugin_api import CatalogItem, CatalogPackage, ExchangeHooks, OrderExport

if TYPE_CHECKING:
    from plugins.onec.exchange_http import OneCHttpExchange
    from server.plugin_api import CatalogCallback


class OneCExchange:
    name = "1c"

    def __init__(self, settings: OneCSettings) -> None:
        self.settings = settings
        self._by_id: dict[str, Product] = {}
        self._by_sku: dict[str, Product] = {}

    def parse(self, documents: Mapping[str, bytes]) -> ParsedCatalog:
        """Items plus unmatched offers and deleted products (for reports and the CLI)."""
        parsed = parse_package(documents, self.settings, self._by_id)
        for product in parsed.products.values():
            self._by_id[product.id] = product
            self._by_sku[product.sku] = product
        return parsed

    def learn(self, products: Mapping[str, tuple[str, str]]) -> None:
        """Products stored by earlier packages (1C ``Ид`` -> SKU, name), e.g. read back from
        the database by another worker or after a restart, unless already known here."""
        for pid, (sku, name) in products.items():
            if pid not in self._by_id:
                product = Product(pid, sku, name, None, None, None, ())
                self._by_id[pid] = product
                self._by_sku.setdefault(sku, product)

    def http_endpoint(self, on_catalog: CatalogCallback,
                      hooks: ExchangeHooks | None = None) -> OneCHttpExchange:
        """1C's HTTP exchange at /1c_exchange (`HttpCatalogExchange`); it needs the login 1C
        uses, so a section without username and password is refused here."""
        if not (self.settings.username and self.settings.password):
            raise ValueError("the 1C exchange needs onec.username and onec.password "
                             "(what 1C logs in with) in KOPILKA_PLUGIN_SETTINGS")
        from plugins.onec.exchange_http import OneCHttpExchange  # aiohttp only when served

        hooks = hooks or ExchangeHooks()
        return OneCHttpExchange(self, on_catalog, orders_query=hooks.orders_query,
                                orders_exported=hooks.orders_exported, state=hooks.state,
                                on_stock=hooks.on_stock, on_statuses=hooks.on_statuses)

    def parse_package(self, documents: Mapping[str, bytes]) -> CatalogPackage:
        """`ReportingCatalogExchange`: the items, and what 1C sent that did not become one."""
        parsed = self.parse(documents)
        notes = []
        if parsed.deleted:
            notes.append(f"skipped {parsed.deleted} products marked deleted in 1C")
        if parsed.unmatched_offers:
            catalog = next(iter(documents), "the catalog")
            notes.append(f"{len(parsed.unmatched_offers)} offers have no product in {catalog} "
                         f"and were skipped (first: {parsed.unmatched_offers[0]})")
        return CatalogPackage(parsed.items, tuple(notes))

    async def parse_catalog(self, documents: Mapping[str, bytes]) -> list[CatalogItem]:
        return self.parse(documents).items

    async def render_orders(self, orders: Sequence[OrderExport]) -> bytes:
        return self.render(orders)

    def render(self, orders: Sequence[OrderExport], now: datetime | None = None) -> bytes:
        return render(orders, self.settings, self._by_sku, now)
