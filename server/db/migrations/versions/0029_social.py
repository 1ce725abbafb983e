"""Social networks (issue 17): accounts linked to members, actions from Meta's webhooks,
rules over actions and the rewards they gave (points through the ledger, or a coupon).

Permissions reuse existing object types: linking accounts and the activity are members
rights, rules are campaigns rights; no role changes.

Revision ID: 0029
Revises: 0025
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0029"
down_revision = "0024"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "social_accounts",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("social_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("linked_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_social_accounts_member_id_members")),
        sa.PrimaryKeyConstraint("network", "social_id", name=op.f("pk_social_accounts")),
    )
    op.create_index("ix_social_accounts_member_id", "social_accounts", ["member_id"])
    op.create_table(
        "social_actions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("social_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", UUID, nullable=True),
        sa.Column("post_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('reaction', 'comment', 'mention')",
                           name=op.f("ck_social_actions_kind_known")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_social_actions_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_actions")),
        sa.UniqueConstraint("event_key", name=op.f("uq_social_actions_event_key")),
    )
    op.create_index("ix_social_actions_member_id_post_id", "social_actions",
                    ["member_id", "post_id"])
    op.create_table(
        "social_rules",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.String(length=128), nullable=False),
        sa.Column("kinds", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("coupon_promotion_id", sa.String(length=64), nullable=True),
        sa.Column("cap_count", sa.Integer(), nullable=False),
        sa.Column("cap_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("window_minutes > 0 AND cap_count > 0 AND cap_days > 0 "
                           "AND points >= 0", name=op.f("ck_social_rules_positive")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_social_rules")),
    )
    op.create_table(
        "social_rewards",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("rule_code", sa.String(length=64), nullable=False),
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("occurrence", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("coupon_id", UUID, nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("outcome IN ('points', 'coupon', 'capped')",
                           name=op.f("ck_social_rewards_outcome_known")),
        sa.ForeignKeyConstraint(["rule_code"], ["social_rules.code"],
                                name=op.f("fk_social_rewards_rule_code_social_rules")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_social_rewards_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_rewards")),
        sa.UniqueConstraint("rule_code", "member_id", "occurrence",
                            name=op.f("uq_social_rewards_rule_code")),
    )
    op.create_index("ix_social_rewards_member_id_created_at", "social_rewards",
                    ["member_id", "created_at"])


def downgrade() -> None:
    for table in ("social_rewards", "social_rules", "social_actions", "social_accounts"):
        op.drop_table(table)
