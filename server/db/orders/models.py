"""SQLAlchemy schema of online-store orders (migration 0017).

An order, its lines and its history (one row per version), the members' delivery addresses,
stock balances per store and SKU and the stores' cities (for the customer's-city allocation).
Money and points on an order move only through the ledger; the columns here record what the
ledger did (points_reserved, reserve_tx_id ...), the ledger holds the balances.
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
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column

ORDER_STATES = "'placed', 'confirmed', 'completed', 'cancelled', 'returned'"
LINE_STATES = "'open', 'confirmed', 'cancelled', 'returned'"


class MemberAddress(Base):
    """A delivery address kept on the member (several per member)."""

    __tablename__ = "member_addresses"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False,
                                                 index=True)
    city: Mapped[str] = mapped_column(Text, nullable=False)
    street: Mapped[str] = mapped_column(Text, nullable=False)
    postal_code: Mapped[str] = mapped_column(String(16), nullable=False)
    nova_poshta_branch: Mapped[str] = mapped_column(String(64), nullable=False)
    recipient_name: Mapped[str] = mapped_column(Text, nullable=False)
    recipient_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[dt.datetime] = now_column()


class WebOrder(Base):
    """An online-store order; `version` goes up with every change (order_history)."""

    __tablename__ = "web_orders"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    external_number: Mapped[str] = mapped_column(String(64), nullable=False)
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), nullable=False)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    card_number: Mapped[str | None] = mapped_column(String(13), nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    delivery_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    pickup_store_code: Mapped[str | None] = mapped_column(ForeignKey("stores.code"),
                                                          nullable=True)
    address_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("member_addresses.id"),
                                                         nullable=True)
    comment: Mapped[str] = mapped_column(Text, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    points_requested: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_reserved: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_spent: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_accrued: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_returned: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_reversed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reserve_tx_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    accrual_tx_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    # the lots the order earns (rule id, points, activation, expiry), booked at completion
    accrual_lots: Mapped[Any] = mapped_column(JSONB, nullable=False)
    # per point lot, what returns gave back to it and took back from it (partial returns
    # add up and never exceed what the lot gave or took): {"returned": {}, "reversed": {}}
    lot_returns: Mapped[Any] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint(f"state IN ({ORDER_STATES})", name="state_known"),
        CheckConstraint("delivery_kind IN ('pickup', 'courier', 'nova_poshta')",
                        name="delivery_known"),
        CheckConstraint("points_reserved >= 0", name="reserved_not_negative"),
        Index("ix_web_orders_member_created", "member_id", "created_at"),
        Index("ix_web_orders_created", "created_at"),
        # the console's filters (migration 0033)
        Index("ix_web_orders_store_created", "store_code", "created_at"),
        Index("ix_web_orders_state_created", "state", "created_at"),
    )


class WebOrderLine(Base):
    """One line of an order, priced by the receipt engine."""

    __tablename__ = "web_order_lines"
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    quantity_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    unit_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    base_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discount_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_paid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    final_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    accrual_points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    promotions: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    returned_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_returned: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_reversed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    store_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    split_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    replaces: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (
        CheckConstraint(f"state IN ({LINE_STATES})", name="state_known"),
        CheckConstraint("quantity_milli > 0", name="quantity_positive"),
        CheckConstraint("returned_milli >= 0 AND returned_milli <= quantity_milli",
                        name="returned_range"),
    )


class WebOrderHistory(Base):
    """One change of an order: who, when, what, why; the version it made."""

    __tablename__ = "web_order_history"
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    principal: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[Any] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()


class StockBalance(Base):
    """How much of a SKU a store holds (set by SetStock or a CSV load)."""

    __tablename__ = "stock_balances"
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    quantity_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (CheckConstraint("quantity_milli >= 0", name="quantity_not_negative"),)


class StoreCity(Base):
    """The city a store is in (the customer's-city allocation strategy)."""

    __tablename__ = "store_cities"
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), primary_key=True)
    city: Mapped[str] = mapped_column(Text, nullable=False)


class StoreRequest(Base):
    """A request to a store to confirm lines of an order (one round of asking)."""

    __tablename__ = "web_order_store_requests"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), nullable=False,
                                                index=True)
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    deadline_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)
    answered_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'answered', 'expired', 'closed')",
                        name="state_known"),
        Index("ix_web_order_store_requests_pending", "deadline_at",
              postgresql_where=text("state = 'pending'")),
    )


class StoreRequestLine(Base):
    """One line asked about in a store request, with the store's answer."""

    __tablename__ = "web_order_store_request_lines"
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_order_store_requests.id"),
                                                  primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quantity_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    answer: Mapped[str | None] = mapped_column(String(16), nullable=True)
    confirmed_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    __table_args__ = (
        CheckConstraint("answer IS NULL OR answer IN ('confirmed', 'partly', 'refused')",
                        name="answer_known"),
    )


class AlternativeOffer(Base):
    """An alternative product offered for a missing line, accepted once by a signed link."""

    __tablename__ = "web_order_offers"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), nullable=False,
                                                index=True)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    unit_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = now_column()
