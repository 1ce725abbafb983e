"""SQLAlchemy schema of the 1C exchange's state (migration 0025).

The HTTP exchange is a conversation of many requests (checkauth, init, file, import, query,
success) that any worker may answer and that survives a restart: sessions, their uploads
(chunk by chunk, in order), the imports running or finished, the orders the last query
handed out, the versions of orders 1C has stored, and 1C's product keys.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class OnecSession(Base):
    """A session 1C opened with checkauth; `queried`: [[order id, version], ...] of its
    last query, marked exported when 1C says success."""

    __tablename__ = "onec_sessions"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    queried: Mapped[Any] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[dt.datetime] = now_column()


class OnecFileChunk(Base):
    """One request's part of an uploaded file (1C splits files by file_limit)."""

    __tablename__ = "onec_file_chunks"
    token: Mapped[str] = mapped_column(
        ForeignKey("onec_sessions.token", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class OnecImport(Base):
    """A file's import: running (beating), done or failed with the message for 1C."""

    __tablename__ = "onec_imports"
    token: Mapped[str] = mapped_column(
        ForeignKey("onec_sessions.token", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    beat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class OnecOrderExport(Base):
    """The version of an order 1C confirmed storing (mode=success); a later version is a
    change to export again."""

    __tablename__ = "onec_order_exports"
    order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("web_orders.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    exported_at: Mapped[dt.datetime] = now_column()


class OnecProduct(Base):
    """1C's key (Ид) of a product stored from its catalog, so a later prices-only or
    stock-only package finds its SKU in any worker."""

    __tablename__ = "onec_products"
    onec_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
