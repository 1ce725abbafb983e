"""`kopilka catalog import-1c IMPORT.xml OFFERS.xml`: load 1C's catalog into products.

Parses a CommerceML 2 package with the ``onec`` plugin's parser, folds characteristic
offers into their product (Kopilka has no variants: their barcodes join the product),
validates everything first (a bad row writes nothing) and upserts in batches, each in
its own transaction, printing progress. Re-running is safe: products are upserted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from plugins.contracts import CatalogItem
from server.org.model import ProductInfo
from server.settings import Settings

BATCH = 2000
SHOWN_PROBLEMS = 20
_VALIDATE_CHUNK = 10_000  # validate_products' per-call limit
_LIMITS = (("group_code", 64), ("subgroup_code", 64), ("brand", 128))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    return int(_run(import_products(url, products, args.batch, _say)))  # type: ignore[arg-type]


def _load_1c(args: argparse.Namespace) -> list[ProductInfo] | None:
    """Read, parse, fold and validate; None (after explaining why) when unusable."""
    from plugins.onec import CommerceMLError, OneCExchange, OneCSettings

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
    try:
        parsed = OneCExchange(OneCSettings(sku_source=args.sku_from,
                                           price_type=args.price_type)).parse(documents)
    except (CommerceMLError, ValueError) as exc:
        _say(f"kopilka: {exc}\nkopilka: nothing was imported; export the catalog from 1C "
             "again (CommerceML 2, \"Выгрузка на сайт\") and retry")
        return None
    if parsed.deleted:
        _say(f"kopilka: skipped {parsed.deleted} products marked deleted in 1C")
    if parsed.unmatched_offers:
        _say(f"kopilka: {len(parsed.unmatched_offers)} offers have no product in "
             f"{args.import_xml.name} and were skipped (first: {parsed.unmatched_offers[0]})")
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


def fold_items(items: Sequence[CatalogItem]) -> tuple[list[ProductInfo], list[str]]:
    """One ProductInfo per SKU (the base item's attributes, every variant's barcodes),
    and the SKUs that two different 1C products share (a duplicated Артикул)."""
    base: dict[str, CatalogItem] = {}
    barcodes: dict[str, dict[str, None]] = {}
    clashes: list[str] = []
    for item in items:
        current = base.get(item.sku)
        if current is None or (current.variant_id is not None and item.variant_id is None):
            base[item.sku] = item
        elif item.variant_id is None and current.variant_id is None:
            clashes.append(f"product {item.sku!r}: sku: 1C products {current.external_id} and "
                           f"{item.external_id} have the same Артикул")
        barcodes.setdefault(item.sku, {}).update(dict.fromkeys(item.barcodes))
    products = [ProductInfo(sku=sku, name=item.name, group_code=item.group or "",
                            subgroup_code=item.subgroup or "", brand=item.brand or "",
                            barcodes=tuple(barcodes[sku])) for sku, item in base.items()]
    return products, clashes


def find_problems(products: Sequence[ProductInfo]) -> list[str]:
    """Every reason the products cannot be stored, naming the SKU and field."""
    from server.errors import DomainError
    from server.org.model import validate_products

    problems: list[str] = []
    owner: dict[str, tuple[str, int]] = {}  # barcode -> (sku, chunk) across chunks
    for first in range(0, len(products), _VALIDATE_CHUNK):
        chunk = list(products[first:first + _VALIDATE_CHUNK])
        try:
            validate_products(chunk)
        except DomainError as exc:
            for violation in exc.violations:
                index = int(violation.field.split("[", 1)[1].split("]", 1)[0])
                what = violation.field.split("]", 1)[1].lstrip(".")
                problems.append(f"product {chunk[index].sku!r}: {what}: {violation.description}")
        for product in chunk:
            for code in product.barcodes:
                other, chunk_start = owner.setdefault(code, (product.sku, first))
                if other != product.sku and chunk_start != first:  # same chunk: seen above
                    problems.append(f"product {product.sku!r}: barcode {code} is also on "
                                    f"{other!r}")
            for attribute, limit in _LIMITS:
                if len(getattr(product, attribute)) > limit:
                    problems.append(f"product {product.sku!r}: {attribute}: at most {limit} "
                                    "characters")
    return problems


async def import_products(url: str, products: Sequence[ProductInfo], batch: int,
                          say: Callable[[str], None]) -> int:
    """Upsert in transactions of ``batch`` products; 0 on success."""
    from server.db.database import Database
    from server.db.org_repo import upsert_products

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
