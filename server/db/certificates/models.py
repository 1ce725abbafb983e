"""Gift certificate tables: types, certificates and their append-only ledger (migration 0004)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


def _when() -> Mapped[dt.datetime | None]:
    return mapped_column(DateTime(timezone=True), nullable=True)


class CertificateTypeRow(Base):
    """A kind of certificate; `next_sequence` hands out numbers under a row lock."""

    __tablename__ = "certificate_types"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    denominations: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    barcode_format: Mapped[str] = mapped_column(String(16), nullable=False)
    number_prefix: Mapped[str] = mapped_column(String(6), nullable=False, unique=True)
    next_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    remainder_policy: Mapped[str] = mapped_column(String(16), nullable=False)
    valid_days: Mapped[int] = mapped_column(Integer, nullable=False)
    valid_from: Mapped[dt.datetime | None] = _when()
    valid_until: Mapped[dt.datetime | None] = _when()
    expired_refund_policy: Mapped[str] = mapped_column(String(16), nullable=False)
    refund_extension_days: Mapped[int] = mapped_column(Integer, nullable=False)
    product_skus: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    product_groups: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    template: Mapped[str] = mapped_column(Text, nullable=False)
    # Face values a free-value type may issue (migration 0011); the CHECKs keep every one
    # within the absolute cap, so sums of face values cannot overflow int64.
    min_denomination_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    max_denomination_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    denomination_step_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint(
            "0 < min_denomination_minor AND min_denomination_minor <= max_denomination_minor "
            "AND max_denomination_minor <= 10000000000", name="face_value_bounds"),
        CheckConstraint("denomination_step_minor > 0", name="face_value_step_positive"),
    )


class CertificateRow(Base):
    """One certificate; `balance_minor` caches the sum of its entries (same transaction)."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("certificate_types.code"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    denomination_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    balance_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    remainder_policy: Mapped[str] = mapped_column(String(16), nullable=False)
    store_code: Mapped[str | None] = mapped_column(ForeignKey("stores.code"), nullable=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    activated_at: Mapped[dt.datetime | None] = _when()
    valid_from: Mapped[dt.datetime | None] = _when()
    expires_at: Mapped[dt.datetime | None] = _when()
    replaces_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    replaced_by_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint("balance_minor >= 0", name="balance_not_negative"),
        CheckConstraint("denomination_minor > 0", name="denomination_positive"),
        Index("ix_certificates_expiry", "expires_at",
              postgresql_where=text("state IN ('active', 'blocked')")),
        Index("ix_certificates_type_code", "type_code"),
    )


class CertificateEntryRow(Base):
    """Append-only: a trigger refuses UPDATE and DELETE; corrections are new entries."""

    __tablename__ = "certificate_entries"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    balance_after_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    receipt_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    store_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sku: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    principal: Mapped[str] = mapped_column(String(128), nullable=False, server_default="")
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        Index("ix_certificate_entries_certificate_id", "certificate_id", "id"),
        Index("ix_certificate_entries_receipt_id", "receipt_id",
              postgresql_where=text("receipt_id IS NOT NULL")),
        Index("ix_certificate_entries_created_at", "created_at"),
    )
