"""The "1c" CatalogExchange: CommerceML 2 in both directions.

It remembers the products of the packages it parsed (1C ``Ид`` by SKU and by ``Ид``),
so a later prices-only package resolves its offers and exported orders name the
nomenclature by the ``Ид`` 1C knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from plugins.contracts import CatalogItem, OrderExport
from plugins.onec.catalog import ParsedCatalog, Product, parse_package
from plugins.onec.orders import render
from plugins.onec.settings import OneCSettings


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

    async def parse_catalog(self, documents: Mapping[str, bytes]) -> list[CatalogItem]:
        return self.parse(documents).items

    async def render_orders(self, orders: Sequence[OrderExport]) -> bytes:
        return self.render(orders)

    def render(self, orders: Sequence[OrderExport], now: datetime | None = None) -> bytes:
        return render(orders, self.settings, self._by_sku, now)
