"""SMS verification codes, used tokens and editable message templates (migrations 0005,
0010)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column
from server.db.outbox.models import Mailing  # noqa: F401  (FK target must be on the metadata)


class MessageTemplate(Base):
    """An operator-editable message text, e.g. the verification SMS."""

    __tablename__ = "message_templates"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    updated_at: Mapped[dt.datetime] = now_column()


class Verification(Base):
    """One code sent to a member's phone; only a keyed hash of the code is kept."""

    __tablename__ = "verifications"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    card_number: Mapped[str] = mapped_column(ForeignKey("cards.number"), nullable=False)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    requester: Mapped[str] = mapped_column(String(160), nullable=False)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    salt: Mapped[bytes] = mapped_column(LargeBinary(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    mailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailings.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    operation: Mapped[str] = mapped_column(String(32), nullable=False)
    max_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'verified', 'locked')", name="state_known"),
        CheckConstraint("operation IN ('redeem_points', 'confirm_receipt', 'convert_funds', "
                        "'place_order', 'exchange_order')",
                        name="operation_known"),
        CheckConstraint("max_amount >= 0", name="max_amount_not_negative"),
        Index("ix_verifications_phone_time", "phone", "created_at"),
        Index("ix_verifications_requester_time", "requester", "created_at"),
    )


class VerificationTokenUse(Base):
    """A verification token that paid for a spend, written in that spend's transaction."""

    __tablename__ = "verification_token_uses"
    token_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    operation: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    used_at: Mapped[dt.datetime] = now_column()
