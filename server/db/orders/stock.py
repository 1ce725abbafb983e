"""Stock balances per store and SKU, and the stores' cities: one upsert per batch.

Loaded by SetStock and by `kopilka orders load-stock FILE.csv` (the same function), from
1C's offers in the future; each load also tells wishlists of products back in stock.
Unknown stores or SKUs are refused naming the entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.ledger.repo import raw_connection
from server.db.shopping.repo import SqlShoppingRepository
from server.errors import Violations, echo
from server.limits import MAX_AMOUNT
from server.shopping.model import StockChange
from server.shopping.service import wishlist_hits_for_stock

Balance = tuple[str, str, int]  # store, sku, quantity in thousandths


def parse_balances(rows: Sequence[Balance], field_path: str) -> list[Balance]:
    """Every bad entry reported at once; a store and SKU named twice is refused."""
    errors = Violations()
    seen: set[tuple[str, str]] = set()
    for i, (store, sku, quantity) in enumerate(rows):
        path = f"{field_path}[{i}]"
        if not store:
            errors.add(f"{path}.store_code", "required")
        if not sku:
            errors.add(f"{path}.sku", "required")
        if quantity < 0 or quantity > MAX_AMOUNT:
            errors.add(f"{path}.quantity_milli", f"0 to {MAX_AMOUNT} thousandths")
        if (store, sku) in seen:
            errors.add(path, f"store {echo(store)} and SKU {echo(sku)} given twice")
        seen.add((store, sku))
    errors.raise_if_any()
    return list(rows)


async def _unknown(session: AsyncSession, table: str, column: str,
                   values: Sequence[str]) -> set[str]:
    conn = await raw_connection(session)
    found = await conn.fetch(f"SELECT {column} FROM {table} WHERE {column} = ANY($1)",
                             sorted(set(values)))
    return set(values) - {r[column] for r in found}


async def set_balances(session: AsyncSession, rows: Sequence[Balance], field_path: str) -> int:
    """Upsert the balances; INVALID_ARGUMENT naming each entry with an unknown store or SKU."""
    if not rows:
        return 0
    bad_stores = await _unknown(session, "stores", "code", [r[0] for r in rows])
    bad_skus = await _unknown(session, "products", "sku", [r[1] for r in rows])
    errors = Violations()
    for i, (store, sku, _) in enumerate(rows):
        if store in bad_stores:
            errors.add(f"{field_path}[{i}].store_code", f"unknown store {echo(store)}")
        if sku in bad_skus:
            errors.add(f"{field_path}[{i}].sku", f"unknown SKU {echo(sku)}")
    errors.raise_if_any()
    conn = await raw_connection(session)
    await conn.executemany(
        "INSERT INTO stock_balances (store_code, sku, quantity_milli) VALUES ($1, $2, $3) "
        "ON CONFLICT (store_code, sku) DO UPDATE SET quantity_milli = EXCLUDED.quantity_milli, "
        "updated_at = now()", list(rows))
    # Members who wish a product that just came back in stock hear of it (docs/shopping.md).
    await wishlist_hits_for_stock(SqlShoppingRepository(session),
                                  [StockChange(store, sku, qty) for store, sku, qty in rows])
    return len(rows)


async def set_cities(session: AsyncSession, rows: Sequence[tuple[str, str]],
                     field_path: str) -> None:
    if not rows:
        return
    bad = await _unknown(session, "stores", "code", [r[0] for r in rows])
    errors = Violations()
    for i, (store, city) in enumerate(rows):
        if store in bad:
            errors.add(f"{field_path}[{i}].store_code", f"unknown store {echo(store)}")
        if not city:
            errors.add(f"{field_path}[{i}].city", "required")
    errors.raise_if_any()
    conn = await raw_connection(session)
    await conn.executemany(
        "INSERT INTO store_cities (store_code, city) VALUES ($1, $2) "
        "ON CONFLICT (store_code) DO UPDATE SET city = EXCLUDED.city", list(rows))


async def stock_of(session: AsyncSession, skus: Sequence[str]) -> dict[str, dict[str, int]]:
    """store -> sku -> quantity, for the SKUs named (positive balances only)."""
    conn = await raw_connection(session)
    rows = await conn.fetch(
        "SELECT store_code, sku, quantity_milli FROM stock_balances "
        "WHERE sku = ANY($1) AND quantity_milli > 0", list(skus))
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["store_code"], {})[r["sku"]] = r["quantity_milli"]
    return out


async def cities(session: AsyncSession) -> dict[str, str]:
    conn = await raw_connection(session)
    return {r["store_code"]: r["city"]
            for r in await conn.fetch("SELECT store_code, city FROM store_cities")}
