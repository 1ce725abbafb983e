"""SQLAlchemy schema of the ledger (migration 0003): accounts, entries, lots, receipts' details.

Append-only: ledger_entries and lot_movements are only ever inserted. Balances in
ledger_accounts are caches updated in the same transaction as their entries;
`kopilka ledger audit` proves balance = sum(entries) for every account.
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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class LedgerAccount(Base):
    """A balance: a member's points, pending points or cash, or a master cash account."""

    __tablename__ = "ledger_accounts"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    balance: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    master_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_accounts.id"), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        UniqueConstraint("member_id", "kind", name="uq_ledger_accounts_member_kind"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("kind IN ('points', 'points_pending', 'cash', 'cash_master')",
                        name="kind_known"),
    )


class LedgerTransaction(Base):
    """One business operation; its entries and lot movements reference it."""

    __tablename__ = "ledger_transactions"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    receipt_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True,
                                                          index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    principal: Mapped[str] = mapped_column(String(128), nullable=False, server_default="")
    # Indexed for the console's dashboard (migration 0021: ix_ledger_transactions_created_at).
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (Index("ix_ledger_transactions_created_at", "created_at"),)


class LedgerEntry(Base):
    """A signed change of one account's balance."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tx_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transactions.id"),
                                             nullable=False, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False,
                                            index=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)


class PointLot(Base):
    """Points with their own activation and expiry; spent oldest-expiring first."""

    __tablename__ = "point_lots"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    tx_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transactions.id"),
                                             nullable=False)
    receipt_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True,
                                                          index=True)
    rule_id: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    points_initial: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_left: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    activation_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expiry_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint("points_initial > 0", name="initial_positive"),
        CheckConstraint("points_left >= 0 AND points_left <= points_initial", name="left_range"),
        CheckConstraint("state IN ('pending', 'active', 'expired')", name="state_known"),
        Index("ix_point_lots_spendable", "member_id", "expiry_at", "activation_at", "id",
              postgresql_where=text("state = 'active' AND points_left > 0")),
        Index("ix_point_lots_pending", "activation_at",
              postgresql_where=text("state = 'pending'")),
        Index("ix_point_lots_expiring", "expiry_at",
              postgresql_where=text("state = 'active' AND expiry_at IS NOT NULL")),
    )


class LotMovement(Base):
    """A signed change of one lot's points: creation, spending, return, reversal, expiry."""

    __tablename__ = "lot_movements"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tx_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transactions.id"),
                                             nullable=False, index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lots.id"), nullable=False, index=True)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    __table_args__ = (CheckConstraint("points <> 0", name="points_not_zero"),)


class ReceiptDetail(Base):
    """What a confirmed receipt sold and how it was paid, and how much is refunded so far."""

    __tablename__ = "receipt_details"
    __table_args__ = (Index("uq_receipt_details_calculation", "calculation_id", unique=True),)
    receipt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("receipts.id"), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    tx_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    lines: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    payments: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    points_accrued: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points_redeemed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunded: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False,
                                                     server_default=text("'{}'::jsonb"))
    # who booked it, a digest of what was asked (a retry under a new request id must match)
    # and the calculation it came from (booked at most once)
    principal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    content_hash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    calculation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)


class AccrualRuleSetRow(Base):
    """Applied accrual rule sets; the newest row is the active one."""

    __tablename__ = "accrual_rule_sets"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    principal: Mapped[str] = mapped_column(String(128), nullable=False, server_default="")
    applied_at: Mapped[dt.datetime] = now_column()


class EventAccrual(Base):
    """Once-only marker of a non-financial accrual (registration, birthday:2026)."""

    __tablename__ = "event_accruals"
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    occasion: Mapped[str] = mapped_column(String(64), primary_key=True)
    tx_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transactions.id"),
                                             nullable=False)
