"""SQLAlchemy schema of legal entities, order payments, provider callbacks, invoices and
waybills (migration 0024); refund intents and the payment state `cancelled` (0030).

Ledger methods (certificate, points, cash account) move money only through the ledger; the
payment row records what the ledger did (`ledger_tx_id`). Card and installment payments
follow the provider's verified notices; `payment_callbacks` keeps every callback seen, so a
replayed one is recognised and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column

TAX_STATUSES = "'vat_payer', 'non_vat', 'single_tax'"
METHODS = ("'certificate', 'points', 'cash_account', 'card', 'installments', "
           "'cash_on_delivery'")
PAYMENT_STATES = "'pending', 'paid', 'failed', 'reversed', 'cancelled'"
REFUND_STATES = "'pending', 'done', 'failed'"
REFUND_ORIGINS = "'refund', 'cancel', 'late_payment'"
WAYBILL_STATES = "'created', 'deleted', 'received', 'refused', 'returned'"


class LegalEntity(Base):
    """A legal entity of the seller; `invoice_next` is its invoice counter (locked)."""

    __tablename__ = "legal_entities"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    edrpou: Mapped[str] = mapped_column(String(8), nullable=False, unique=True)
    iban: Mapped[str] = mapped_column(String(34), nullable=False)
    tax_status: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    liqpay_public_key: Mapped[str] = mapped_column(String(64), nullable=False)
    np_sender_ref: Mapped[str] = mapped_column(String(36), nullable=False)
    np_contact_ref: Mapped[str] = mapped_column(String(36), nullable=False)
    np_city_ref: Mapped[str] = mapped_column(String(36), nullable=False)
    np_address_ref: Mapped[str] = mapped_column(String(36), nullable=False)
    np_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    invoice_next: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint(f"tax_status IN ({TAX_STATUSES})", name="tax_status_known"),
        CheckConstraint("invoice_next >= 1", name="invoice_next_positive"),
    )


class EntityStore(Base):
    """A store belongs to one entity."""

    __tablename__ = "entity_stores"
    store_code: Mapped[str] = mapped_column(ForeignKey("stores.code"), primary_key=True)
    entity_code: Mapped[str] = mapped_column(ForeignKey("legal_entities.code"), nullable=False)


class EntityProduct(Base):
    """A product sold by one entity whatever store sells it (wins over the store's)."""

    __tablename__ = "entity_products"
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    entity_code: Mapped[str] = mapped_column(ForeignKey("legal_entities.code"), nullable=False)


class OrderPayment(Base):
    """One method paying part of one entity's share of an order."""

    __tablename__ = "order_payments"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), nullable=False,
                                                index=True)
    entity_code: Mapped[str] = mapped_column(ForeignKey("legal_entities.code"), nullable=False)
    method: Mapped[str] = mapped_column(String(24), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    certificate_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ledger_tx_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    provider_order_id: Mapped[str | None] = mapped_column(String(255), nullable=True,
                                                          unique=True)
    provider_payment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_status: Mapped[str] = mapped_column(String(32), nullable=False)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint(f"method IN ({METHODS})", name="method_known"),
        CheckConstraint(f"state IN ({PAYMENT_STATES})", name="state_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor",
                        name="refunded_range"),
        Index("ix_order_payments_pending", "updated_at",
              postgresql_where=text("state = 'pending' AND provider_order_id IS NOT NULL")),
    )


class OrderPaymentRefund(Base):
    """One refund of a payment, written before the provider is called (docs/payments.md):
    pending reserves its amount, done added it to `refunded_minor`, failed released it."""

    __tablename__ = "order_payment_refunds"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order_payments.id"),
                                                  nullable=False, index=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), nullable=False,
                                                index=True)
    principal_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    origin: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    provider_status: Mapped[str] = mapped_column(String(32), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    attempted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint(f"state IN ({REFUND_STATES})", name="state_known"),
        CheckConstraint(f"origin IN ({REFUND_ORIGINS})", name="origin_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("attempts >= 0", name="attempts_range"),
        Index("ix_order_payment_refunds_pending", "created_at",
              postgresql_where=text("state = 'pending'")),
        Index("uq_order_payment_refunds_request", "principal_id", "request_id", "payment_id",
              unique=True, postgresql_where=text("state <> 'failed'")),
    )


class PaymentCallback(Base):
    """Every provider callback whose signature verified, once (the digest of its data)."""

    __tablename__ = "payment_callbacks"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    provider_order_id: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    received_at: Mapped[dt.datetime] = now_column()


class Invoice(Base):
    """An invoice of one entity for its share of an order; numbered per entity, no gaps."""

    __tablename__ = "invoices"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    entity_code: Mapped[str] = mapped_column(ForeignKey("legal_entities.code"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), nullable=False)
    total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    vat_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        UniqueConstraint("entity_code", "number", name="uq_invoices_entity_number"),
        UniqueConstraint("order_id", "entity_code", name="uq_invoices_order_entity"),
    )


class Waybill(Base):
    """A Nova Poshta waybill of one entity's part of an order."""

    __tablename__ = "waybills"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), nullable=False,
                                                index=True)
    entity_code: Mapped[str] = mapped_column(ForeignKey("legal_entities.code"), nullable=False)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    ref: Mapped[str] = mapped_column(String(36), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    status_code: Mapped[str] = mapped_column(String(8), nullable=False)
    cod_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    seats: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint(f"state IN ({WAYBILL_STATES})", name="state_known"),
        Index("uq_waybills_live", "order_id", "entity_code", unique=True,
              postgresql_where=text("state <> 'deleted'")),
    )
