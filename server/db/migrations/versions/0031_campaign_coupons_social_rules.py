"""Coupons from campaigns and triggers; social rules deleted but kept (issue 17).

- campaigns.coupon / marketing_triggers.coupon: what personal coupon each recipient gets
  (promotion, uses, validity, prefix as JSON; NULL: none). campaigns.coupon_batch_id is the
  batch the campaign's coupons were issued in when it started; trigger_firings.coupon_id the
  coupon a firing issued.
- coupons: at most one coupon per member in a batch (a partial unique index), so a campaign
  can never give a recipient two.
- social_rules.deleted_at / deleted_by: a deleted rule is no longer applied or listed, its
  code stays taken, and the rewards it gave stay on members' records.

No role changes: issuing from a campaign needs coupons.create besides the campaign rights.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("coupon", JSONB, nullable=True))
    op.add_column("campaigns", sa.Column("coupon_batch_id", UUID, nullable=True))
    op.add_column("marketing_triggers", sa.Column("coupon", JSONB, nullable=True))
    op.add_column("trigger_firings", sa.Column("coupon_id", UUID, nullable=True))
    op.create_foreign_key(op.f("fk_trigger_firings_coupon_id_coupons"), "trigger_firings",
                          "coupons", ["coupon_id"], ["id"])
    op.create_index("uq_coupons_batch_member", "coupons", ["batch_id", "member_id"],
                    unique=True,
                    postgresql_where=sa.text("batch_id IS NOT NULL AND member_id IS NOT NULL"))
    op.add_column("social_rules", sa.Column("deleted_at", TS, nullable=True))
    op.add_column("social_rules", sa.Column("deleted_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("social_rules", "deleted_by")
    op.drop_column("social_rules", "deleted_at")
    op.drop_index("uq_coupons_batch_member", table_name="coupons")
    op.drop_constraint(op.f("fk_trigger_firings_coupon_id_coupons"), "trigger_firings",
                       type_="foreignkey")
    op.drop_column("trigger_firings", "coupon_id")
    op.drop_column("marketing_triggers", "coupon")
    op.drop_column("campaigns", "coupon_batch_id")
    op.drop_column("campaigns", "coupon")
