"""Mailing history newest first: an index for ListMailings without a recipient filter.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-23 14:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mailings_time", "mailings", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_mailings_time", table_name="mailings")
