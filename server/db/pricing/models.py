"""Promotion rule sets (versioned, append-only) and members' first promotional purchases."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Identity, Integer, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class RuleSetRecord(Base):
    """Every rule set ever applied; the newest row is the active one."""

    __tablename__ = "rule_sets"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False, default="")
    document: Mapped[str] = mapped_column(Text, nullable=False)
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    rule_count: Mapped[int] = mapped_column(Integer, nullable=False)
    applied_by: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    applied_at: Mapped[dt.datetime] = now_column()
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class MemberPromotionUse(Base):
    """The local date of a member's first receipt discounted by a promotion
    (for rules valid N days from the first promotional purchase)."""

    __tablename__ = "member_promotion_uses"
    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("members.id"), primary_key=True
    )
    promotion_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
