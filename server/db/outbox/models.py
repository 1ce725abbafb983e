"""Outbox queue and mailing history (migration 0005).

`outbox` is the work queue: one row per message or domain event, written in the
transaction of the business change and claimed by the dispatcher with SKIP LOCKED.
`mailings` is the history of every message (what, to whom, state, attempts, times);
`mailing_parts` maps provider message ids (one per SMS part) to their mailing, and
`delivery_reports` logs every receipt as received, so a receipt that beats the
submit response is applied when the ids get recorded.
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
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class Mailing(Base):
    """One message to one recipient and what became of it."""

    __tablename__ = "mailings"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # For texts carrying a secret (a one-time code): replaces `body` once the message is
    # settled, so the secret is kept only while it may still need sending.
    redacted_body: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(128), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivery_error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = now_column()
    updated_at: Mapped[dt.datetime] = now_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    final_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Channel options (OutgoingMessage.metadata), the lifetime of the message on its first
    # hop, and where it goes when that hop does not deliver in time (migration 0019).
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    lifetime_seconds: Mapped[int | None] = mapped_column(Integer)
    fallback_channel: Mapped[str | None] = mapped_column(String(32))
    fallback_body: Mapped[str | None] = mapped_column(Text)
    hop: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="1")
    fallback_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_mailings_fallback_due", "fallback_due_at",
              postgresql_where=text("fallback_due_at IS NOT NULL")),
        CheckConstraint(
            "state IN ('queued', 'sent', 'delivered', 'undeliverable', 'failed')",
            name="state_known"),
        Index("ix_mailings_reference", "reference"),
        Index("ix_mailings_recipient_time", "recipient", "created_at"),
        Index("ix_mailings_time", "created_at", "id"),  # ListMailings, newest first
    )


class OutboxItem(Base):
    """A message or domain event waiting for delivery (or settled: done / failed)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    mailing_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mailings.id"), nullable=True, index=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    event_type: Mapped[str | None] = mapped_column(String(64))
    event_version: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = now_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = now_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("kind IN ('message', 'event')", name="kind_known"),
        CheckConstraint("state IN ('pending', 'done', 'failed')", name="state_known"),
        CheckConstraint(
            "(kind = 'message' AND mailing_id IS NOT NULL) OR "
            "(kind = 'event' AND event_id IS NOT NULL AND event_type IS NOT NULL)",
            name="kind_fields"),
        Index("ix_outbox_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
    )


class MailingPart(Base):
    """A provider message id (one SMS part) of a mailing, with its latest receipt state."""

    __tablename__ = "mailing_parts"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider_message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    mailing_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mailings.id"), nullable=False, index=True)
    part: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = now_column()


class DeliveryReportLog(Base):
    """Every delivery receipt as received (append-only)."""

    __tablename__ = "delivery_reports"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    provider_message_id: Mapped[str] = mapped_column(String(128), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(32))
    raw: Mapped[str] = mapped_column(Text, nullable=False, default="")
    received_at: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        Index("ix_delivery_reports_message", "channel", "provider_message_id"),
    )


class MailingHop(Base):
    """One hop of a message with a fallback (Viber first, then SMS), with its own outcome."""

    __tablename__ = "mailing_hops"
    mailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailings.id"), primary_key=True)
    hop: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = now_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    final_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'sent', 'delivered', 'undeliverable', 'expired', 'failed')",
            name="state_known"),
    )


class EventMark(Base):
    """An event that happens once per subject and occasion (purchase.first of a member,
    member.birthday of a member in a year, ...): written with the event, first writer wins."""

    __tablename__ = "event_marks"
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    occasion: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = now_column()


class EventConsumption(Base):
    """An in-process consumer handled an event (server/events/consumers.py)."""

    __tablename__ = "event_consumptions"
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumed_at: Mapped[dt.datetime] = now_column()
