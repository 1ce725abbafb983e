"""Engagement schema (migration 0026): coupons and their uses.

`coupons.uses` counts the receipts that spent the coupon; ConfirmReceipt raises it in its
one call (kopilka_spend_coupon) with a conditional UPDATE, so concurrent receipts never
spend more than `max_uses`. `coupon_uses` says which receipts they were.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class CouponRow(Base):
    """One coupon code and what it unlocks."""

    __tablename__ = "coupons"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(19), nullable=False, unique=True)
    promotion_id: Mapped[str] = mapped_column(String(64), nullable=False)
    max_uses: Mapped[int] = mapped_column(Integer, nullable=False)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    state: Mapped[str] = mapped_column(String(16), nullable=False, server_default="active")
    batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)
    block_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        Index("ix_coupons_promotion", "promotion_id", "created_at"),
        Index("ix_coupons_batch", "batch_id"),
        Index("ix_coupons_member", "member_id"),
        # one coupon per member in a batch: a campaign's recipients get one each (0031)
        Index("uq_coupons_batch_member", "batch_id", "member_id", unique=True,
              postgresql_where=text("batch_id IS NOT NULL AND member_id IS NOT NULL")),
    )


class CouponUse(Base):
    """A receipt that spent a coupon."""

    __tablename__ = "coupon_uses"
    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id"), primary_key=True)
    receipt_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    used_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
