"""The console's order list: orders of one store, or in one state, newest first.

ListOrders filters by store and by state and pages by (created_at, id) descending; each
filter gets a btree leading with it, so a page is one index range scan however many orders
other stores (or other states) have. Orders of a member already have
ix_web_orders_member_created (0017).

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_web_orders_store_created", "web_orders", ["store_code", "created_at"])
    op.create_index("ix_web_orders_state_created", "web_orders", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_web_orders_state_created", table_name="web_orders")
    op.drop_index("ix_web_orders_store_created", table_name="web_orders")
