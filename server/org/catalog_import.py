"""From an ERP's catalog items to Kopilka products: folding variants, finding problems.

Shared by `kopilka catalog import-1c` and the 1C HTTP exchange the server mounts, so both
accept and reject exactly the same catalogs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from server.errors import DomainError
from server.org.model import ProductInfo, validate_products
from server.plugin_contracts import CatalogItem

_VALIDATE_CHUNK = 10_000  # validate_products' per-call limit
_LIMITS = (("group_code", 64), ("subgroup_code", 64), ("brand", 128))


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


class CatalogRejected(ValueError):
    """The ERP's catalog cannot be stored as it is; nothing was written."""


class CatalogSync:
    """Products from an ERP that sends its catalog file by file (1C: import.xml, then
    offers.xml with the variants' barcodes).

    Products are upserted with exactly their barcodes, so a file that names only some of
    a product's items (the variants in offers.xml) must not wipe the others: every item
    seen in this process is remembered and a product is always written from all of them,
    as `kopilka catalog import-1c` does with both files at once.
    """

    def __init__(self, store: Callable[[list[ProductInfo]], Awaitable[None]]) -> None:
        self._store = store
        self._items: dict[tuple[str | None, str | None, str], CatalogItem] = {}

    async def receive(self, items: Sequence[CatalogItem]) -> int:
        """Validate and store the products these items touch; CatalogRejected if any is
        unusable (then nothing is written and nothing remembered). Returns the count."""
        known = dict(self._items)
        for item in items:
            known[(item.external_id, item.variant_id, item.sku)] = item
        touched = {item.sku for item in items}
        products, clashes = fold_items([x for x in known.values() if x.sku in touched])
        problems = clashes + find_problems(products)
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise CatalogRejected("; ".join(problems[:5]) + more)
        if products:
            await self._store(products)
        self._items = known
        return len(products)
