"""What pricing loads from SQL: the active rule set, the catalog and the org structure.

These are cold paths (start-up and changes); the hot path prices from memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Product, ProductBarcode, Store, StoreNetworkMember
from server.db.pricing.models import RuleSetRecord
from server.pricing import model as pm


@dataclass(frozen=True, slots=True)
class StoredRuleSet:
    """One applied rule-set document as stored."""

    id: int
    version: str
    document: str
    format: str


async def save_rule_set(
    session: AsyncSession, *, version: str, name: str, document: str, fmt: str, rule_count: int,
    applied_by: str,
) -> int:
    """Append a rule set; the newest row is the active one (history is kept for audit)."""
    return (await session.execute(
        insert(RuleSetRecord).values(
            version=version, name=name, document=document, format=fmt, rule_count=rule_count,
            applied_by=applied_by, active=True,
        ).returning(RuleSetRecord.id)
    )).scalar_one()


async def newest_rule_set_id(session: AsyncSession) -> int | None:
    """Cheap change detection for workers polling for a new rule set."""
    return await session.scalar(select(func.max(RuleSetRecord.id)))


async def active_rule_set(session: AsyncSession) -> StoredRuleSet | None:
    row = await session.scalar(
        select(RuleSetRecord).where(RuleSetRecord.active).order_by(RuleSetRecord.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    return StoredRuleSet(row.id, row.version, row.document, row.format)


@dataclass(frozen=True, slots=True)
class RuleSetEntry:
    """One applied rule set in the history (the console's Program page)."""

    id: int
    version: str
    name: str
    rule_count: int
    applied_by: str
    applied_at: dt.datetime


async def rule_set_history(session: AsyncSession, limit: int) -> list[RuleSetEntry]:
    rows = await session.scalars(
        select(RuleSetRecord).order_by(RuleSetRecord.id.desc()).limit(limit))
    return [RuleSetEntry(r.id, r.version, r.name, r.rule_count, r.applied_by, r.applied_at)
            for r in rows]


async def catalog_fingerprint(session: AsyncSession) -> tuple[object, ...]:
    """Changes whenever products, barcodes or stores change (count + newest update)."""
    row = (await session.execute(select(
        select(func.count()).select_from(Product).scalar_subquery(),
        select(func.max(Product.updated_at)).scalar_subquery(),
        select(func.count()).select_from(ProductBarcode).scalar_subquery(),
        select(func.count()).select_from(StoreNetworkMember).scalar_subquery(),
        select(func.count()).select_from(Store).scalar_subquery(),
    ))).one()
    return tuple(row)


async def load_catalog(session: AsyncSession) -> pm.Catalog:
    """All products with their barcodes, as the pricing engine sees them."""
    barcodes: dict[str, list[str]] = {}
    for barcode, sku in await session.execute(select(ProductBarcode.barcode, ProductBarcode.sku)):
        barcodes.setdefault(sku, []).append(barcode)
    products = []
    for row in await session.scalars(select(Product)):
        products.append(pm.Product(
            sku=row.sku, group=row.group_code or None, subgroup=row.subgroup_code or None,
            brand=row.brand or None, supplier=row.supplier_code or None,
            price_category=row.price_category or None,
            barcodes=tuple(sorted(barcodes.get(row.sku, ()))),
        ))
    return pm.Catalog.from_products(products)


async def load_stores(session: AsyncSession) -> dict[str, pm.Store]:
    """Stores with the networks they belong to."""
    networks: dict[str, set[str]] = {}
    for store_code, network in await session.execute(
        select(StoreNetworkMember.store_code, StoreNetworkMember.network_code)
    ):
        networks.setdefault(store_code, set()).add(network)
    return {
        code: pm.Store(code, frozenset(networks.get(code, ())))
        for code in await session.scalars(select(Store.code))
    }


@dataclass(frozen=True, slots=True)
class RuleSetInfo:
    """An applied rule set without its document (for listings)."""

    id: int
    version: str
    name: str
    rule_count: int
    applied_by: str
    applied_at: dt.datetime


def _info(row: RuleSetRecord) -> RuleSetInfo:
    return RuleSetInfo(row.id, row.version, row.name, row.rule_count, row.applied_by,
                       row.applied_at)


async def list_rule_sets(session: AsyncSession, *, before_id: int | None, limit: int
                         ) -> list[RuleSetInfo]:
    """Applied rule sets, newest first, one keyset page (ids below `before_id`)."""
    query = select(RuleSetRecord).order_by(RuleSetRecord.id.desc()).limit(limit)
    if before_id:
        query = query.where(RuleSetRecord.id < before_id)
    return [_info(row) for row in await session.scalars(query)]


async def rule_set_by_version(session: AsyncSession, version: str
                              ) -> tuple[RuleSetInfo, StoredRuleSet] | None:
    """The newest row with this content version."""
    row = await session.scalar(select(RuleSetRecord).where(RuleSetRecord.version == version)
                               .order_by(RuleSetRecord.id.desc()).limit(1))
    if row is None:
        return None
    return _info(row), StoredRuleSet(row.id, row.version, row.document, row.format)


async def active_rule_set_info(session: AsyncSession) -> RuleSetInfo | None:
    """The active rule set's listing entry."""
    row = await session.scalar(select(RuleSetRecord).where(RuleSetRecord.active)
                               .order_by(RuleSetRecord.id.desc()).limit(1))
    return None if row is None else _info(row)
