"""People and keys: operator users, console sessions; API key expiry, rotation, last use.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "operator_users",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("totp_secret", sa.LargeBinary(length=20), nullable=True),
        sa.Column("totp_pending_secret", sa.LargeBinary(length=20), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("disabled_at", TS, nullable=True),
        sa.Column("last_login_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_users")),
        sa.UniqueConstraint("email", name=op.f("uq_operator_users_email")),
    )
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["operator_users.id"],
                                name=op.f("fk_user_sessions_user_id_operator_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])
    op.add_column("api_keys", sa.Column("expires_at", TS, nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", TS, nullable=True))
    op.add_column("api_keys", sa.Column("rotated_at", TS, nullable=True))
    op.add_column("api_keys", sa.Column("previous_secret_hash", sa.LargeBinary(length=32),
                                        nullable=True))
    op.add_column("api_keys", sa.Column("previous_expires_at", TS, nullable=True))
    op.create_unique_constraint(op.f("uq_api_keys_previous_secret_hash"), "api_keys",
                                ["previous_secret_hash"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_api_keys_previous_secret_hash"), "api_keys", type_="unique")
    for column in ("previous_expires_at", "previous_secret_hash", "rotated_at", "last_used_at",
                   "expires_at"):
        op.drop_column("api_keys", column)
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_table("operator_users")
