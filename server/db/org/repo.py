"""Stores, networks, card types and products in SQL."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.certificates.models import CertificateTypeRow
from server.db.models import (
    CardType,
    Product,
    ProductBarcode,
    Store,
    StoreNetwork,
    StoreNetworkMember,
)
from server.members.model import CardTypeInfo
from server.org.model import ProductInfo, StoreInfo


async def upsert_store(session: AsyncSession, store: StoreInfo) -> None:
    """Create or update a store and replace its network memberships."""
    stmt = insert(Store).values(code=store.code, name=store.name, time_zone=store.time_zone)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["code"], set_={"name": store.name, "time_zone": store.time_zone}
    ))
    if store.network_codes:
        await session.execute(
            insert(StoreNetwork).values([{"code": c, "name": c} for c in store.network_codes])
            .on_conflict_do_nothing()
        )
    await session.execute(delete(StoreNetworkMember).where(StoreNetworkMember.store_code
                                                           == store.code))
    if store.network_codes:
        await session.execute(insert(StoreNetworkMember).values(
            [{"store_code": store.code, "network_code": c} for c in store.network_codes]
        ))


async def list_stores(session: AsyncSession) -> list[StoreInfo]:
    networks = func.coalesce(
        func.array_agg(StoreNetworkMember.network_code).filter(
            StoreNetworkMember.network_code.is_not(None)
        ),
        [],
    )
    rows = await session.execute(
        select(Store.code, Store.name, Store.time_zone, networks)
        .outerjoin(StoreNetworkMember, StoreNetworkMember.store_code == Store.code)
        .group_by(Store.code).order_by(Store.code)
    )
    return [StoreInfo(code, name, tz, tuple(sorted(nets or ()))) for code, name, tz, nets in rows]


async def store_exists(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(Store.code).where(Store.code == code)) is not None


async def upsert_card_type(session: AsyncSession, card_type: CardTypeInfo) -> None:
    values = {
        "name": card_type.name, "accrual_bps": card_type.accrual_bps,
        "number_prefix": card_type.number_prefix,
        "requires_verification": card_type.requires_verification,
    }
    await session.execute(
        insert(CardType).values(code=card_type.code, next_sequence=1, **values)
        .on_conflict_do_update(index_elements=["code"], set_=values)
    )


async def other_number_prefixes(session: AsyncSession, card_type: str) -> list[tuple[str, str]]:
    """(owner, prefix) of every number series but card type `card_type`'s own."""
    cards = await session.execute(
        select(CardType.code, CardType.number_prefix).where(CardType.code != card_type))
    certs = await session.execute(select(CertificateTypeRow.code, CertificateTypeRow.number_prefix))
    return ([(f"card type {c}", p) for c, p in cards]
            + [(f"certificate type {c}", p) for c, p in certs])


async def list_card_types(session: AsyncSession) -> list[CardTypeInfo]:
    rows = await session.scalars(select(CardType).order_by(CardType.code))
    return [CardTypeInfo(r.code, r.name, r.accrual_bps, r.number_prefix,
                         r.requires_verification) for r in rows]


_CHUNK = 2000  # keeps each statement under PostgreSQL's 32767 bind parameters


async def upsert_products(session: AsyncSession, products: list[ProductInfo]) -> int:
    """Create or update products; each product's barcodes are replaced by the given ones."""
    for first in range(0, len(products), _CHUNK):
        await _upsert_chunk(session, products[first:first + _CHUNK])
    return len(products)


async def _upsert_chunk(session: AsyncSession, products: list[ProductInfo]) -> None:
    rows = [{
        "sku": p.sku, "name": p.name, "group_code": p.group_code,
        "subgroup_code": p.subgroup_code, "brand": p.brand, "supplier_code": p.supplier_code,
        "price_category": p.price_category,
    } for p in products]
    stmt = insert(Product).values(rows)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["sku"],
        set_={c: stmt.excluded[c] for c in rows[0] if c != "sku"} | {"updated_at": func.now()},
    ))
    await session.execute(
        delete(ProductBarcode).where(ProductBarcode.sku.in_([p.sku for p in products]))
    )
    barcodes = [{"barcode": b, "sku": p.sku} for p in products for b in p.barcodes]
    if barcodes:
        codes = insert(ProductBarcode).values(barcodes)
        await session.execute(codes.on_conflict_do_update(
            index_elements=["barcode"], set_={"sku": codes.excluded.sku}
        ))
