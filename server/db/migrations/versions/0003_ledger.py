"""Ledger: accounts, transactions, entries, point lots, receipt details, accrual rules.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _created(name: str = "created_at") -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("master_id", sa.BigInteger(), nullable=True),
        _created(),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_ledger_accounts_balance_not_negative")),
        sa.CheckConstraint("kind IN ('points', 'points_pending', 'cash', 'cash_master')",
                           name=op.f("ck_ledger_accounts_kind_known")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_ledger_accounts_member_id_members")),
        sa.ForeignKeyConstraint(["master_id"], ["ledger_accounts.id"],
                                name=op.f("fk_ledger_accounts_master_id_ledger_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("member_id", "kind", name="uq_ledger_accounts_member_kind"),
    )
    op.create_index(op.f("ix_ledger_accounts_master_id"), "ledger_accounts", ["master_id"])
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("receipt_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("principal", sa.String(length=128), server_default="", nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
    )
    op.create_index(op.f("ix_ledger_transactions_receipt_id"), "ledger_transactions",
                    ["receipt_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tx_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        _created(),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(["tx_id"], ["ledger_transactions.id"],
                                name=op.f("fk_ledger_entries_tx_id_ledger_transactions")),
        sa.ForeignKeyConstraint(["account_id"], ["ledger_accounts.id"],
                                name=op.f("fk_ledger_entries_account_id_ledger_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_tx_id"), "ledger_entries", ["tx_id"])
    op.create_index(op.f("ix_ledger_entries_account_id"), "ledger_entries", ["account_id"])
    op.create_table(
        "point_lots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("tx_id", sa.UUID(), nullable=False),
        sa.Column("receipt_id", sa.UUID(), nullable=True),
        sa.Column("rule_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("points_initial", sa.BigInteger(), nullable=False),
        sa.Column("points_left", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("activation_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expiry_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.CheckConstraint("points_initial > 0", name=op.f("ck_point_lots_initial_positive")),
        sa.CheckConstraint("points_left >= 0 AND points_left <= points_initial",
                           name=op.f("ck_point_lots_left_range")),
        sa.CheckConstraint("state IN ('pending', 'active', 'expired')",
                           name=op.f("ck_point_lots_state_known")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_point_lots_member_id_members")),
        sa.ForeignKeyConstraint(["tx_id"], ["ledger_transactions.id"],
                                name=op.f("fk_point_lots_tx_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_lots")),
    )
    op.create_index(op.f("ix_point_lots_receipt_id"), "point_lots", ["receipt_id"])
    op.create_index("ix_point_lots_spendable", "point_lots",
                    ["member_id", "expiry_at", "activation_at", "id"],
                    postgresql_where=sa.text("state = 'active' AND points_left > 0"))
    op.create_index("ix_point_lots_pending", "point_lots", ["activation_at"],
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_index("ix_point_lots_expiring", "point_lots", ["expiry_at"],
                    postgresql_where=sa.text("state = 'active' AND expiry_at IS NOT NULL"))
    op.create_table(
        "lot_movements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tx_id", sa.UUID(), nullable=False),
        sa.Column("lot_id", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points <> 0", name=op.f("ck_lot_movements_points_not_zero")),
        sa.ForeignKeyConstraint(["tx_id"], ["ledger_transactions.id"],
                                name=op.f("fk_lot_movements_tx_id_ledger_transactions")),
        sa.ForeignKeyConstraint(["lot_id"], ["point_lots.id"],
                                name=op.f("fk_lot_movements_lot_id_point_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_movements")),
    )
    op.create_index(op.f("ix_lot_movements_tx_id"), "lot_movements", ["tx_id"])
    op.create_index(op.f("ix_lot_movements_lot_id"), "lot_movements", ["lot_id"])
    op.create_table(
        "receipt_details",
        sa.Column("receipt_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("tx_id", sa.UUID(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("points_accrued", sa.BigInteger(), nullable=False),
        sa.Column("points_redeemed", sa.BigInteger(), nullable=False),
        sa.Column("refunded", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"],
                                name=op.f("fk_receipt_details_receipt_id_receipts")),
        sa.PrimaryKeyConstraint("receipt_id", name=op.f("pk_receipt_details")),
    )
    op.create_table(
        "accrual_rule_sets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("principal", sa.String(length=128), server_default="", nullable=False),
        _created("applied_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accrual_rule_sets")),
    )
    op.create_table(
        "event_accruals",
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("occasion", sa.String(length=64), nullable=False),
        sa.Column("tx_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_event_accruals_member_id_members")),
        sa.ForeignKeyConstraint(["tx_id"], ["ledger_transactions.id"],
                                name=op.f("fk_event_accruals_tx_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("member_id", "occasion", name=op.f("pk_event_accruals")),
    )


def downgrade() -> None:
    for table in ("event_accruals", "accrual_rule_sets", "receipt_details", "lot_movements",
                  "point_lots", "ledger_entries", "ledger_transactions", "ledger_accounts"):
        op.drop_table(table)
