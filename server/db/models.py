"""SQLAlchemy 2 schema of the foundation: org structure, catalog, members, cards, keys.

Later features add their own modules of models on the same `Base`; Alembic migrations are
the source of truth for the database, these classes must match them (a test checks).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations stay diffable."""

    metadata = MetaData(naming_convention=NAMING)


def now_column() -> Mapped[dt.datetime]:
    """A NOT NULL timestamptz column defaulting to the transaction time."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class StoreNetwork(Base):
    """A group of stores (a chain, a region, a franchise) that rules can target."""

    __tablename__ = "store_networks"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")


class Store(Base):
    """A point of sale."""

    __tablename__ = "stores"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="Europe/Kyiv")
    created_at: Mapped[dt.datetime] = now_column()


class StoreNetworkMember(Base):
    """Membership of a store in a network (many to many)."""

    __tablename__ = "store_network_members"
    store_code: Mapped[str] = mapped_column(
        ForeignKey("stores.code", ondelete="CASCADE"), primary_key=True
    )
    network_code: Mapped[str] = mapped_column(
        ForeignKey("store_networks.code", ondelete="CASCADE"), primary_key=True
    )


class Product(Base):
    """A catalog item with the attributes promotions select on."""

    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, default="")
    group_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    subgroup_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    brand: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    supplier_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    price_category: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    updated_at: Mapped[dt.datetime] = now_column()


class ProductBarcode(Base):
    """Barcodes resolve to SKUs; one product may have several."""

    __tablename__ = "product_barcodes"
    barcode: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(
        ForeignKey("products.sku", ondelete="CASCADE"), nullable=False, index=True
    )


class CardType(Base):
    """A kind of card: its accrual percent and its number range."""

    __tablename__ = "card_types"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    accrual_bps: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    number_prefix: Mapped[str] = mapped_column(String(6), nullable=False, unique=True)
    requires_verification: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    next_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=1)
    __table_args__ = (
        CheckConstraint("accrual_bps BETWEEN 0 AND 10000", name="accrual_bps_range"),
    )


class Member(Base):
    """A participant of the loyalty program, unique by phone or e-mail."""

    __tablename__ = "members"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    first_name: Mapped[str] = mapped_column(Text, nullable=False, default="")
    last_name: Mapped[str] = mapped_column(Text, nullable=False, default="")
    middle_name: Mapped[str] = mapped_column(Text, nullable=False, default="")
    gender: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    birth_date: Mapped[dt.date | None] = mapped_column(nullable=True)
    marital_status: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    phone: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    social_ids: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False, default=dict)
    registration_channel: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    # Seen and edited only by roles with (vip_members, read) (server/members/views.py).
    vip: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    __table_args__ = (
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="phone_or_email"),
        # The console's name search has an expression index, ix_members_name_lower
        # (migration 0036), which alembic cannot compare: tests/integration's model test
        # names it in EXPRESSION_INDEXES instead.
    )


class MemberContactChange(Base):
    """Append-only history of profile changes with their source (contact center, web, ...)."""

    __tablename__ = "member_contact_changes"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id"), nullable=False, index=True
    )
    field: Mapped[str] = mapped_column(String(32), nullable=False)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    principal: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    changed_at: Mapped[dt.datetime] = now_column()


class Card(Base):
    """A loyalty card. Balances belong to the member, so a replacement keeps them."""

    __tablename__ = "cards"
    number: Mapped[str] = mapped_column(String(13), primary_key=True)
    card_type: Mapped[str] = mapped_column(ForeignKey("card_types.code"), nullable=False)
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id"), nullable=True, index=True
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    replaces_number: Mapped[str | None] = mapped_column(String(13), nullable=True)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()


class CardStateChange(Base):
    """Append-only history of card state transitions."""

    __tablename__ = "card_state_changes"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    card_number: Mapped[str] = mapped_column(
        ForeignKey("cards.number"), nullable=False, index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    principal: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    changed_at: Mapped[dt.datetime] = now_column()


class Receipt(Base):
    """A confirmed receipt; the purchase history of members reads these."""

    __tablename__ = "receipts"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), nullable=False)
    terminal_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    receipt_number: Mapped[str] = mapped_column(String(64), nullable=False)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    card_number: Mapped[str | None] = mapped_column(String(13), nullable=True)
    state: Mapped[str] = mapped_column(String(24), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discount_total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    confirmed_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        UniqueConstraint("store_code", "terminal_id", "receipt_number", name="uq_receipt_number"),
        Index("ix_receipts_member_time", "member_id", "confirmed_at"),
        Index("ix_receipts_confirmed_at_id", "confirmed_at", "id"),  # what-if pages, dashboard
    )


class ApiKey(Base):
    """An API key; only a SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("store_code IS NULL OR network_code IS NULL", name="store_or_network"),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    store_code: Mapped[str | None] = mapped_column(ForeignKey("stores.code"), nullable=True)
    terminal_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A key for every store of one network (a region, a franchise); neither: all stores.
    network_code: Mapped[str | None] = mapped_column(ForeignKey("store_networks.code"),
                                                     nullable=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # People and keys (migration 0015): optional end of life, at most one-a-minute last use,
    # and during a rotation the previous secret, live until previous_expires_at.
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    previous_secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    previous_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """The first answer to each caller's mutating request id, so a retry gets the same answer.

    Keyed per principal (the caller's API key id): another key's request id is its own.
    """

    __tablename__ = "idempotency_records"
    principal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    method: Mapped[str] = mapped_column(String(128), nullable=False)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # the ledger's answers as values (server/ledger/model.py), the API's as protobuf bytes
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[dt.datetime] = now_column()


class ServerSecret(Base):
    """Secrets the server generates for itself (the token signing key)."""

    __tablename__ = "server_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
