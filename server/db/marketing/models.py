"""Marketing schema (migration 0020): consent with its proof, member preferences, templates,
lists, campaigns, the marketing side of each queued message, SMS tariffs and triggers.

`marketing_messages` is what the outbox's send gate reads at the moment of sending: whose
message it is (quiet hours and the cap in that member's time zone), for which purpose
(consent), from which campaign (paused, cancelled) or trigger firing (stopped).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.engagement.models import CouponRow  # noqa: F401  (FK target, as below)
from server.db.models import Base, now_column
from server.db.outbox.models import Mailing  # noqa: F401  (FK target must be on the metadata)


class MemberConsent(Base):
    """The current answer of a member for one channel and purpose, with its proof."""

    __tablename__ = "member_consents"
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    wording_version: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_at: Mapped[dt.datetime] = now_column()
    principal: Mapped[str] = mapped_column(String(200), nullable=False)


class ConsentHistory(Base):
    """Every grant and withdrawal as recorded (append-only): the proof over time."""

    __tablename__ = "consent_history"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    wording_version: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_at: Mapped[dt.datetime] = now_column()
    principal: Mapped[str] = mapped_column(String(200), nullable=False)
    __table_args__ = (Index("ix_consent_history_member", "member_id", "id"),)


class MemberPreference(Base):
    """A member's language and time zone for messages (None: the program's default)."""

    __tablename__ = "member_preferences"
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    time_zone: Mapped[str | None] = mapped_column(String(64))


class MarketingTemplate(Base):
    """A message template: one text per language, `default_language` the fallback."""

    __tablename__ = "marketing_templates"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    default_language: Mapped[str] = mapped_column(String(8), nullable=False)
    updated_at: Mapped[dt.datetime] = now_column()


class MarketingTemplateText(Base):
    """The text of a template in one language (sandboxed Jinja, checked when saved)."""

    __tablename__ = "marketing_template_texts"
    template_code: Mapped[str] = mapped_column(
        ForeignKey("marketing_templates.code", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, nullable=False)


class MarketingList(Base):
    """A static list (its members below) or a dynamic segment (`segment`, evaluated at use)."""

    __tablename__ = "marketing_lists"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    segment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = now_column()


class MarketingListMember(Base):
    __tablename__ = "marketing_list_members"
    list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("marketing_lists.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)


class Campaign(Base):
    """A mailing to a list with a template on a channel, and its lifecycle."""

    __tablename__ = "campaigns"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("marketing_lists.id"), nullable=False)
    template_code: Mapped[str] = mapped_column(
        ForeignKey("marketing_templates.code"), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = now_column()
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recipients: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    estimated_parts: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    estimated_cost_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # A personal coupon for each recipient (server/marketing/coupons.py), issued at start in
    # batch `coupon_batch_id` (migration 0031).
    coupon: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    coupon_batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class MarketingMessage(Base):
    """The marketing side of one queued mailing (campaign recipient or trigger firing)."""

    __tablename__ = "marketing_messages"
    mailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailings.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id"))
    firing_id: Mapped[int | None] = mapped_column(BigInteger)
    parts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    part_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # When the send gate let it go (the frequency cap counts these per member).
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", name="uq_marketing_messages_campaign"),
        Index("ix_marketing_messages_member_released", "member_id", "released_at"),
    )


class SmsTariff(Base):
    """Price of one SMS part by the longest matching prefix of the E.164 number."""

    __tablename__ = "sms_tariffs"
    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    part_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)


class MarketingTrigger(Base):
    """On event X (condition) send template Y on channel Z after delay D."""

    __tablename__ = "marketing_triggers"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    condition: Mapped[str | None] = mapped_column(Text)
    template_code: Mapped[str] = mapped_column(
        ForeignKey("marketing_templates.code"), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    delay_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    occurrence: Mapped[str] = mapped_column(String(64), nullable=False)
    max_per_occurrence: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    stop_events: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # A personal coupon issued with each firing (migration 0031; NULL: none).
    coupon: Mapped[dict[str, object] | None] = mapped_column(JSONB)


class TriggerFiring(Base):
    """One message a trigger decided to send; the unique keys make firing idempotent."""

    __tablename__ = "trigger_firings"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    trigger_code: Mapped[str] = mapped_column(
        ForeignKey("marketing_triggers.code"), nullable=False)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    occurrence: Mapped[str] = mapped_column(String(128), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    event_id: Mapped[str] = mapped_column(String(64), nullable=False)
    mailing_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mailings.id"))
    fired_at: Mapped[dt.datetime] = now_column()
    stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    coupon_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coupons.id"))
    __table_args__ = (
        UniqueConstraint("trigger_code", "event_id", name="uq_trigger_firings_event"),
        UniqueConstraint("trigger_code", "member_id", "occurrence", "seq",
                         name="uq_trigger_firings_slot"),
        Index("ix_trigger_firings_member", "member_id", "trigger_code"),
    )
