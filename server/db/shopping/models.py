"""SQLAlchemy schema of the shopping context (migration 0018).

- shopping_baskets: the online store's baskets as last reported (one row per store basket).
- shopping_wishlist_items / shopping_wishlist_hits: what members wish for, and each
  promotion or restock already announced for a wished item (once per occurrence).
- shopping_stock_levels / shopping_stock_skus: the last stock levels reported to
  `wishlist_hits_for_stock`, per store and summed per SKU with a restock counter.
- shopping_site_events: the members' footprint on the site, pruned after the retention.
- shopping_pairs / shopping_pair_runs: products bought together, computed by a job.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class ShoppingBasket(Base):
    """A store's basket as last reported; `abandoned_at` is set once, when the event is raised."""

    __tablename__ = "shopping_baskets"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), nullable=False)
    basket_id: Mapped[str] = mapped_column(String(128), nullable=False)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"), nullable=True,
                                                        index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    lines: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ordered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    abandoned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    order_reference: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        UniqueConstraint("store_code", "basket_id", name="uq_shopping_baskets_store_basket"),
        CheckConstraint("state IN ('open', 'ordered')", name="state_known"),
        CheckConstraint("version > 0", name="version_positive"),
        Index("ix_shopping_baskets_abandonable", "reported_at",
              postgresql_where=text("state = 'open' AND abandoned_at IS NULL")),
    )


class WishlistItem(Base):
    """One product on one member's wishlist."""

    __tablename__ = "shopping_wishlist_items"
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    added_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        Index("ix_shopping_wishlist_items_member_time", "member_id", "added_at", "id"),
    )


class WishlistHit(Base):
    """A wished item's promotion or restock, announced once (`occurrence` names which)."""

    __tablename__ = "shopping_wishlist_hits"
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    occurrence: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (CheckConstraint("kind IN ('promotion', 'stock')", name="kind_known"),)


class StockLevel(Base):
    """The last available quantity reported for one store and SKU."""

    __tablename__ = "shopping_stock_levels"
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()


class StockSku(Base):
    """A SKU's availability summed over stores; `restocks` counts its 0 -> positive turns."""

    __tablename__ = "shopping_stock_skus"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    restocks: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()


class SiteEvent(Base):
    """One view, search or basket change of a member on a store's site."""

    __tablename__ = "shopping_site_events"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          server_default=text("gen_random_uuid()"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    sku: Mapped[str | None] = mapped_column(String(64))
    search_query: Mapped[str | None] = mapped_column(String(256))
    basket_id: Mapped[str | None] = mapped_column(String(128))
    quantity_milli: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                     index=True)
    received_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint("kind IN ('view', 'search', 'basket_add', 'basket_remove')",
                        name="kind_known"),
        Index("ix_shopping_site_events_member_time", "member_id", "occurred_at", "id"),
    )


class ProductPair(Base):
    """How often `other_sku` was bought in the same confirmed receipt as `sku`."""

    __tablename__ = "shopping_pairs"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    other_sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    pair_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sku_receipts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    confidence_permille: Mapped[int] = mapped_column(Integer, nullable=False)
    support_permille: Mapped[int] = mapped_column(Integer, nullable=False)


class PairRun(Base):
    """One computation of `shopping_pairs`; the newest row says how fresh they are."""

    __tablename__ = "shopping_pair_runs"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    receipts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    pairs: Mapped[int] = mapped_column(BigInteger, nullable=False)
