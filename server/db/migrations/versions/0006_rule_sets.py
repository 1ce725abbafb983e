"""Promotion rule sets and members' first promotional purchases.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("applied_by", sa.String(length=128), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_sets")),
    )
    op.create_table(
        "member_promotion_uses",
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("promotion_id", sa.String(length=64), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_member_promotion_uses_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", "promotion_id",
                                name=op.f("pk_member_promotion_uses")),
    )


def downgrade() -> None:
    op.drop_table("member_promotion_uses")
    op.drop_table("rule_sets")
