"""The 1C exchange's state in the database: sessions, uploaded file chunks, imports, the
orders a query handed out and those 1C stored, 1C's product keys (issue 14).

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0025"
down_revision = "0027"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "onec_sessions",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("queried", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW,
                  nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_onec_sessions")),
    )
    op.create_table(
        "onec_file_chunks",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["token"], ["onec_sessions.token"], ondelete="CASCADE",
                                name=op.f("fk_onec_file_chunks_token_onec_sessions")),
        sa.PrimaryKeyConstraint("token", "filename", "seq", name=op.f("pk_onec_file_chunks")),
    )
    op.create_table(
        "onec_imports",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["token"], ["onec_sessions.token"], ondelete="CASCADE",
                                name=op.f("fk_onec_imports_token_onec_sessions")),
        sa.PrimaryKeyConstraint("token", "filename", name=op.f("pk_onec_imports")),
    )
    op.create_table(
        "onec_order_exports",
        sa.Column("order_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), server_default=NOW,
                  nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["web_orders.id"],
                                name=op.f("fk_onec_order_exports_order_id_web_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_onec_order_exports")),
    )
    op.create_table(
        "onec_products",
        sa.Column("onec_id", sa.String(128), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("onec_id", name=op.f("pk_onec_products")),
    )


def downgrade() -> None:
    for table in ("onec_products", "onec_order_exports", "onec_imports", "onec_file_chunks",
                  "onec_sessions"):
        op.drop_table(table)
