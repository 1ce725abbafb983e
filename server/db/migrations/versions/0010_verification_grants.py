"""Single-use, bound verification tokens: what a verification authorizes, and used tokens.

A verification now names the operation it authorizes and the most it may spend; a token
that paid for a spend is written to verification_token_uses in that spend's transaction
(its primary key makes a second use, even a concurrent one, fail). Verifications started
before this revision authorize nothing (max_amount 0): their holders send a new code.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OPERATIONS = "operation IN ('redeem_points', 'confirm_receipt', 'convert_funds')"


def upgrade() -> None:
    op.add_column("verifications", sa.Column("operation", sa.String(32), nullable=False,
                                             server_default="redeem_points"))
    op.add_column("verifications", sa.Column("max_amount", sa.BigInteger(), nullable=False,
                                             server_default="0"))
    op.alter_column("verifications", "operation", server_default=None)
    op.alter_column("verifications", "max_amount", server_default=None)
    op.create_check_constraint(op.f("ck_verifications_operation_known"), "verifications",
                               OPERATIONS)
    op.create_check_constraint(op.f("ck_verifications_max_amount_not_negative"),
                               "verifications", "max_amount >= 0")
    op.create_table(
        "verification_token_uses",
        sa.Column("token_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_verification_token_uses")),
    )


def downgrade() -> None:
    op.drop_table("verification_token_uses")
    op.drop_constraint(op.f("ck_verifications_max_amount_not_negative"), "verifications")
    op.drop_constraint(op.f("ck_verifications_operation_known"), "verifications")
    op.drop_column("verifications", "max_amount")
    op.drop_column("verifications", "operation")
