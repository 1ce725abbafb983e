"""API keys bound to a store network: a regional office acts for every store of its network.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("network_code", sa.String(length=64), nullable=True))
    op.create_foreign_key(op.f("fk_api_keys_network_code_store_networks"), "api_keys",
                          "store_networks", ["network_code"], ["code"])
    op.create_check_constraint(op.f("ck_api_keys_store_or_network"), "api_keys",
                               "store_code IS NULL OR network_code IS NULL")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_keys_store_or_network"), "api_keys", type_="check")
    op.drop_constraint(op.f("fk_api_keys_network_code_store_networks"), "api_keys",
                       type_="foreignkey")
    op.drop_column("api_keys", "network_code")
