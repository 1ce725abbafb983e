"""Social-network schema (migration 0029): linked accounts, actions, rules, rewards."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class SocialAccountRow(Base):
    """A network's user id linked to a member: one member per (network, social id)."""

    __tablename__ = "social_accounts"
    __table_args__ = (Index("ix_social_accounts_member_id", "member_id"),)
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    social_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    linked_at: Mapped[dt.datetime] = now_column()


class SocialActionRow(Base):
    """One action a webhook reported; `event_key` (the provider's identity) makes a
    redelivery the same row. `member_id` is empty while the sender is unknown."""

    __tablename__ = "social_actions"
    __table_args__ = (
        CheckConstraint("kind IN ('reaction', 'comment', 'mention')", name="kind_known"),
        Index("ix_social_actions_member_id_post_id", "member_id", "post_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    network: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    social_id: Mapped[str] = mapped_column(String(64), nullable=False)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    post_id: Mapped[str] = mapped_column(String(128), nullable=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[dt.datetime] = now_column()


class SocialRuleRow(Base):
    """Every kind in `kinds` on one post within the window gives points or a coupon."""

    __tablename__ = "social_rules"
    __table_args__ = (CheckConstraint("window_minutes > 0 AND cap_count > 0 AND cap_days > 0 "
                                      "AND points >= 0", name="positive"),)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    network: Mapped[str] = mapped_column(String(16), nullable=False)
    post_id: Mapped[str] = mapped_column(String(128), nullable=False)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    window_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    coupon_promotion_id: Mapped[str | None] = mapped_column(String(64))
    cap_count: Mapped[int] = mapped_column(Integer, nullable=False)
    cap_days: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()
    # Deleted (migration 0031): no longer applied or listed; the code stays taken and the
    # rewards it gave stay on members' records.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(String(200))


class SocialRewardRow(Base):
    """A rule's outcome for a member: once per (rule, member, occurrence)."""

    __tablename__ = "social_rewards"
    __table_args__ = (
        CheckConstraint("outcome IN ('points', 'coupon', 'capped')", name="outcome_known"),
        UniqueConstraint("rule_code", "member_id", "occurrence"),
        Index("ix_social_rewards_member_id_created_at", "member_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    rule_code: Mapped[str] = mapped_column(ForeignKey("social_rules.code"), nullable=False)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    occurrence: Mapped[str] = mapped_column(String(200), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    coupon_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[dt.datetime] = now_column()
