"""Engagement: coupons (issue 17).

- coupons: codes that unlock a promotion's rules (`coupon:` condition), N uses, a validity,
  optionally bound to a member; coupon_uses: the receipts that spent them.
- kopilka_spend_coupon(coupon, member, receipt, now): one use of a coupon in the caller's
  transaction, or NULL when it is blocked, not valid at `now`, used up or another member's;
  a conditional UPDATE, so concurrent receipts never spend more than max_uses.
- kopilka_confirm_receipt: 0019's function (every block kept: claim, booking, verification,
  points, cash, certificates, first promotional purchases, events) with the receipt's
  coupons spent before the events; a coupon that cannot be spent raises KL010 (detail: its
  code) and nothing is written. Each spend emits coupon.redeemed.

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0026"
down_revision = "0023"
branch_labels = None
depends_on = None

SPEND_COUPON = r"""
CREATE FUNCTION kopilka_spend_coupon(p_coupon uuid, p_member uuid, p_receipt uuid,
                                     p_now timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_promotion text;
BEGIN
  UPDATE coupons SET uses = uses + 1
   WHERE id = p_coupon AND state = 'active' AND uses < max_uses AND valid_from <= p_now
     AND (valid_to IS NULL OR valid_to > p_now)
     AND (member_id IS NULL OR member_id = p_member)
  RETURNING promotion_id INTO v_promotion;
  IF v_promotion IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO coupon_uses (coupon_id, receipt_id, used_at) VALUES (p_coupon, p_receipt, p_now);
  RETURN v_promotion;
END $$"""

# The receipt's coupons (only those whose promotion discounted it), spent once each.
RECEIPT_COUPONS = r"""
  FOR v_coupon IN SELECT * FROM jsonb_array_elements(coalesce(p_receipt->'coupons', '[]'))
  LOOP
    v_coupon_promotion := kopilka_spend_coupon((v_coupon->>'id')::uuid, v_member, v_receipt,
                                               p_now);
    IF v_coupon_promotion IS NULL THEN
      RAISE EXCEPTION 'coupon refused' USING ERRCODE = 'KL010', DETAIL = v_coupon->>'code';
    END IF;
    PERFORM kopilka_emit_event('coupon.redeemed', 1, jsonb_build_object(
      'coupon_id', v_coupon->>'id', 'promotion_id', v_coupon_promotion, 'member_id', v_member,
      'receipt_id', v_receipt, 'store_code', p_receipt->'store_code',
      'redeemed_at', p_now));
  END LOOP;
"""

# The new object type's rights: the admin has every right; the operator issues and blocks.
ADMIN_RIGHTS = tuple(f"coupons.{a}" for a in ("read", "create", "update", "delete", "approve",
                                               "export"))
OPERATOR_RIGHTS = ("coupons.read", "coupons.create", "coupons.update")

ANCHOR = "  IF v_member IS NOT NULL AND jsonb_array_length(p_receipt->'promotions') > 0 THEN"
DECLARE_ANCHOR = "  v_pay jsonb;\nBEGIN"


def _revision(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kopilka_{name}",
                                                  Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _confirm_receipt(with_coupons: bool) -> str:
    """0019's function (0013's rules and 0019's events), with the coupon block or without."""
    sql: str = _revision("0019_domain_events.py")._confirm_receipt(with_events=True)
    if not with_coupons:
        return sql
    assert sql.count(ANCHOR) == 1 and sql.count(DECLARE_ANCHOR) == 1, \
        "0019's kopilka_confirm_receipt changed shape"
    sql = sql.replace(DECLARE_ANCHOR,
                      "  v_pay jsonb;\n  v_coupon jsonb;\n  v_coupon_promotion text;\nBEGIN")
    return sql.replace(ANCHOR, RECEIPT_COUPONS + ANCHOR)


def upgrade() -> None:
    uuid_type = postgresql.UUID(as_uuid=True)
    op.create_table(
        "coupons",
        sa.Column("id", uuid_type, primary_key=True),
        sa.Column("code", sa.String(19), nullable=False),
        sa.Column("promotion_id", sa.String(64), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("member_id", uuid_type, sa.ForeignKey("members.id"), nullable=True),
        sa.Column("state", sa.String(16), server_default="active", nullable=False),
        sa.Column("batch_id", uuid_type, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("block_reason", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
        sa.CheckConstraint("max_uses >= 1 AND uses >= 0 AND uses <= max_uses",
                           name=op.f("ck_coupons_uses_within_max")),
        sa.CheckConstraint("state IN ('active', 'blocked')", name=op.f("ck_coupons_state_known")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from",
                           name=op.f("ck_coupons_validity_ordered")),
    )
    op.create_index("ix_coupons_promotion", "coupons", ["promotion_id", "created_at"])
    op.create_index("ix_coupons_batch", "coupons", ["batch_id"])
    op.create_index("ix_coupons_member", "coupons", ["member_id"])
    op.create_table(
        "coupon_uses",
        sa.Column("coupon_id", uuid_type, sa.ForeignKey("coupons.id"), primary_key=True),
        sa.Column("receipt_id", uuid_type, primary_key=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(SPEND_COUPON)
    op.execute(_confirm_receipt(with_coupons=True))
    for role, rights in (("admin", ADMIN_RIGHTS), ("operator", OPERATOR_RIGHTS)):
        op.execute(sa.text(
            "UPDATE roles SET grants = grants || CAST(:extra AS jsonb) WHERE name = :role"
        ).bindparams(role=role, extra=json.dumps([
            {"object_type": r.split(".")[0], "action": r.split(".")[1], "scope": "all"}
            for r in rights])))


def downgrade() -> None:
    op.execute(sa.text(
        "UPDATE roles SET grants = (SELECT coalesce(jsonb_agg(g), '[]') FROM "
        "jsonb_array_elements(grants) g WHERE g->>'object_type' <> 'coupons')"))
    op.execute(_confirm_receipt(with_coupons=False))
    op.execute("DROP FUNCTION kopilka_spend_coupon(uuid, uuid, uuid, timestamptz)")
    op.drop_table("coupon_uses")
    op.drop_index("ix_coupons_member", table_name="coupons")
    op.drop_index("ix_coupons_batch", table_name="coupons")
    op.drop_index("ix_coupons_promotion", table_name="coupons")
    op.drop_table("coupons")
