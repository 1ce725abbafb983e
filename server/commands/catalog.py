"""`kopilka catalog import-1c IMPORT.xml OFFERS.xml`: load 1C's catalog into products.

Parses a CommerceML 2 package with the "1c" catalog exchange (the built-in ``onec`` plugin,
found through the plugin host like every plugin), folds characteristic
offers into their product (Kopilka has no variants: their barcodes join the product),
validates everything first (a bad row writes nothing) and upserts in batches, each in
its own transaction, printing progress. Re-running is safe: products are upserted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from server.org.catalog_import import find_problems, fold_items
from server.org.model import ProductInfo
from server.settings import Settings

BATCH = 2000
SHOWN_PROBLEMS = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    root = sub.add_parser("catalog", help="import the product catalog from an ERP")
    cmds = root.add_subparsers(dest="catalog_command", required=True)
    one_c = cmds.add_parser("import-1c", help="import.xml + offers.xml (CommerceML 2) from 1C")
    one_c.add_argument("import_xml", type=Path, metavar="IMPORT.xml")
    one_c.add_argument("offers_xml", type=Path, metavar="OFFERS.xml", nargs="?",
                       help="prices, stock and variant barcodes (optional)")
    one_c.add_argument("--sku-from", choices=["article", "id"], default="article",
                       help="SKU = Артикул (falling back to Ид when empty) or always Ид")
    one_c.add_argument("--price-type", default="", help="ТипЦены (Ид or name) to read")
    one_c.add_argument("--batch", type=int, default=BATCH, help="products per transaction")
    one_c.set_defaults(func=cmd_import_1c)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_import_1c(settings: Settings, args: argparse.Namespace) -> int:
    from server.cli import _run
    from server.runtime import prepare_database

    if args.batch < 1:
        _say("kopilka: --batch must be at least 1")
        return 2
    products = _load_1c(args)
    if products is None:
        return 2
    url = _run(prepare_database(settings))
    return _run(import_products(url, products, args.batch, _say))


def _load_1c(args: argparse.Namespace) -> list[ProductInfo] | None:
    """Read, parse, fold and validate; None (after explaining why) when unusable."""
    from server.plugin_contracts import ReportingCatalogExchange
    from server.plugin_host import PluginHost, build_plugin_manager

    documents: dict[str, bytes] = {}
    for path in filter(None, (args.import_xml, args.offers_xml)):
        try:
            documents[path.name] = path.read_bytes()
        except OSError as exc:
            _say(f"kopilka: cannot read {path}: {exc.strerror}; check the path "
                 "(1C writes import.xml and offers.xml into its exchange directory)")
            return None
    if len(documents) < len(list(filter(None, (args.import_xml, args.offers_xml)))):
        _say("kopilka: IMPORT.xml and OFFERS.xml have the same file name; rename one")
        return None
    section = {"sku_source": args.sku_from, "price_type": args.price_type}
    exchange = PluginHost(build_plugin_manager(), {"onec": section}).catalog_exchanges().get("1c")
    if not isinstance(exchange, ReportingCatalogExchange):
        _say("kopilka: no plugin offers the 1c catalog exchange; is the onec plugin disabled "
             "(KOPILKA_DISABLE_PLUGINS)?")
        return None
    try:
        parsed = exchange.parse_package(documents)
    except ValueError as exc:
        _say(f"kopilka: {exc}\nkopilka: nothing was imported; export the catalog from 1C "
             "again (CommerceML 2, \"Выгрузка на сайт\") and retry")
        return None
    for note in parsed.notes:
        _say(f"kopilka: {note}")
    products, clashes = fold_items(parsed.items)
    if not products:
        _say(f"kopilka: no products in {args.import_xml}; is it the catalog (import.xml)?")
        return None
    problems = clashes + find_problems(products)
    if problems:
        for line in problems[:SHOWN_PROBLEMS]:
            _say(f"kopilka: {line}")
        if len(problems) > SHOWN_PROBLEMS:
            _say(f"kopilka: ... and {len(problems) - SHOWN_PROBLEMS} more")
        _say("kopilka: nothing was imported. Fix these in 1C (Артикул: 1-64 letters, digits, "
             "'_', '-', '.'; barcodes: 8-14 digits, each on one product) or use --sku-from id")
        return None
    return products


async def import_products(url: str, products: Sequence[ProductInfo], batch: int,
                          say: Callable[[str], None]) -> int:
    """Upsert in transactions of ``batch`` products; 0 on success."""
    from server.db.database import Database
    from server.db.org.repo import upsert_products

    db = Database(url, pool_size=1)
    try:
        done = 0
        for first in range(0, len(products), batch):
            chunk = list(products[first:first + batch])
            async with db.transaction() as session:
                await upsert_products(session, chunk)
            done += len(chunk)
            say(f"kopilka: imported {done}/{len(products)} products")
    finally:
        await db.dispose()
    return 0
