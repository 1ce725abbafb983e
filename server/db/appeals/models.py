"""Contact-center schema (migration 0027): topics, appeals, notes, history, articles."""

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
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.access import models as _access  # noqa: F401  (operator_users for the FK)
from server.db.models import Base, now_column


class AppealTopic(Base):
    """A topic: the queue its appeals go to and the minutes until they are overdue."""

    __tablename__ = "appeal_topics"
    __table_args__ = (CheckConstraint("deadline_minutes > 0", name="deadline_positive"),)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    queue: Mapped[str] = mapped_column(String(64), nullable=False)
    deadline_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()


class AppealRow(Base):
    """One appeal; `call_id` makes a telephony hook's retry the same appeal."""

    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint("state IN ('new', 'assigned', 'in_progress', 'waiting', 'resolved', "
                        "'closed')", name="state_known"),
        Index("ix_appeals_member_id_created_at", "member_id", "created_at"),
        Index("ix_appeals_queue_state", "queue", "state"),
        Index("ix_appeals_due_at", "due_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, Identity(always=False), nullable=False,
                                        unique=True)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    topic_code: Mapped[str | None] = mapped_column(ForeignKey("appeal_topics.code"))
    queue: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("operator_users.id"))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str] = mapped_column(Text, nullable=False)
    call_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    caller_phone: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class AppealNoteRow(Base):
    """A note on an appeal; internal ones never reach the member."""

    __tablename__ = "appeal_notes"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), nullable=False,
                                                 index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False)
    author: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()


class AppealHistoryRow(Base):
    """Append-only: every change of an appeal, who made it and when."""

    __tablename__ = "appeal_history"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), nullable=False,
                                                 index=True)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[dt.datetime] = now_column()
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)


class KbArticle(Base):
    """A knowledge-base article; `search` is its case-folded tsvector (title weighs A)."""

    __tablename__ = "kb_articles"
    __table_args__ = (Index("ix_kb_articles_search", "search", postgresql_using="gin"),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    title: Mapped[str] = mapped_column(String(256), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    published: Mapped[bool] = mapped_column(Boolean, nullable=False)
    search: Mapped[Any] = mapped_column(TSVECTOR, nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()
    updated_by: Mapped[str] = mapped_column(Text, nullable=False)
