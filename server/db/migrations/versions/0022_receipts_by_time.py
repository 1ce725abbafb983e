"""Receipts by confirmation time: what-if runs page through a period in (confirmed_at, id)
order, one index range scan per page (issue 18).

Revision ID: 0022
Revises: 0016
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_receipts_confirmed_at_id", "receipts", ["confirmed_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_receipts_confirmed_at_id", table_name="receipts")
