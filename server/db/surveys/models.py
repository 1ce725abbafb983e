"""Surveys schema (migration 0028): surveys, their versions, invitations, responses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class SurveyRow(Base):
    """A survey: its current version's definition (each save adds a survey_versions row)."""

    __tablename__ = "surveys"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()
    updated_by: Mapped[str] = mapped_column(Text, nullable=False)


class SurveyVersion(Base):
    """Every saved version, so an answer is read against the questions it answered."""

    __tablename__ = "survey_versions"
    survey_code: Mapped[str] = mapped_column(ForeignKey("surveys.code"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()


class SurveyInvitation(Base):
    """A personal link: single use (used_at), expiring (expires_at)."""

    __tablename__ = "survey_invitations"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    survey_code: Mapped[str] = mapped_column(ForeignKey("surveys.code"), nullable=False)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False,
                                                 index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = now_column()
    created_by: Mapped[str] = mapped_column(Text, nullable=False)


class SurveyResponse(Base):
    """A completed survey: answers (on the member for invitations) and the reward given."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("uq_survey_responses_member", "survey_code", "member_id", unique=True,
              postgresql_where=text("member_id IS NOT NULL")),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    survey_code: Mapped[str] = mapped_column(ForeignKey("surveys.code"), nullable=False,
                                             index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"), index=True)
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("survey_invitations.id"), unique=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    reward: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    completed_at: Mapped[dt.datetime] = now_column()
