"""SQLAlchemy schema of imports and the catalog directories (migration 0023)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class ImportBatch(Base):
    """One `kopilka import` run: what it read, how far it got, what it booked."""

    __tablename__ = "import_batches"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    policy: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    files: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    files_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    checkpoint_row: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False,
                                                   server_default=text("'{}'::jsonb"))
    ledger_tx: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    principal: Mapped[str] = mapped_column(String(128), nullable=False, server_default="")
    started_at: Mapped[dt.datetime] = now_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("state IN ('running', 'done', 'failed', 'rolled_back')",
                        name="state_known"),
        Index("ix_import_batches_kind", "kind", "source", "files_hash"),
    )


class ImportRecord(Base):
    """What one source row (by the source's own id) became, and its content hash."""

    __tablename__ = "import_records"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    target: Mapped[str] = mapped_column(Text, nullable=False)
    batch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    updated_batch: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                             server_default=text("'{}'::text[]"))
    __table_args__ = (Index("ix_import_records_target", "kind", "target"),)


class ProductGroup(Base):
    """A product group of the catalog (1C's Группа); products name it by code."""

    __tablename__ = "product_groups"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    parent_code: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    updated_at: Mapped[dt.datetime] = now_column()


class Brand(Base):
    """A brand (ТорговаяМарка); products name it by code."""

    __tablename__ = "brands"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    updated_at: Mapped[dt.datetime] = now_column()


class Supplier(Base):
    """A supplier; products name it by code (supplier_code)."""

    __tablename__ = "suppliers"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    updated_at: Mapped[dt.datetime] = now_column()
