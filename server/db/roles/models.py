"""The roles table: roles as data, seeded with the five built-in roles by migration 0014."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, now_column


class RoleRow(Base):
    """One role: its grants ([{object_type, action, scope}]) and its member view."""

    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    grants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    # The member profile fields its holders see (server/members/views.py).
    member_fields: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False)
    mask_phone: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[dt.datetime] = now_column()
    updated_by: Mapped[str] = mapped_column(Text, nullable=False)
