"""ORM models of the audit trail and the manual money requests (migrations 0016, 0039)."""

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
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base


class AuditRow(Base):
    """One change; written only by kopilka_audit_append(), never updated (a trigger)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id", "id"),
        Index("ix_audit_log_principal", "principal", "id"),
        Index("ix_audit_log_created_at", "created_at"),
        Index("ix_audit_log_chain", "chain", "id"),
        CheckConstraint("chain >= 0 AND chain < 16", name="chain"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    principal: Mapped[str] = mapped_column(String(200), nullable=False)
    key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    object_type: Mapped[str] = mapped_column(String(64), nullable=False)
    object_id: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    before: Mapped[Any] = mapped_column(JSONB, nullable=True)
    after: Mapped[Any] = mapped_column(JSONB, nullable=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # which of the 16 hash chains the row extends (0039): writers on different chains
    # do not wait on each other
    chain: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")


class ManualAdjustment(Base):
    """An AdjustPoints or TopUpCashAccount request, applied at once or waiting for approval."""

    __tablename__ = "manual_adjustments"
    __table_args__ = (
        CheckConstraint("kind IN ('points', 'cash')", name="kind"),
        CheckConstraint("state IN ('pending', 'applied', 'rejected')", name="state"),
        Index("ix_manual_adjustments_key_day", "requested_key", "kind", "created_at"),
        Index("ix_manual_adjustments_state", "state", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    card_number: Mapped[str] = mapped_column(String(64), nullable=False)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason_code: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_key: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_key: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, nullable=False)
    tx_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
