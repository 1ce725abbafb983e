"""Refund intents (issue 14): a refund is written down before the provider is called, so
money sent back at LiqPay is never unknown to us and never sent back twice.

`order_payment_refunds` holds one row per refund of a payment: pending (the amount is
reserved: concurrent refunds cannot exceed what is left), done (added to the payment's
`refunded_minor`) or failed (the reservation released). `attempts` counts provider calls;
it is taken from 0 to 1 in a committed transaction before the one call, so no intent is
sent twice. The caller's request key (principal, request id) ties an intent to the
RefundPayment or CancelOrder call that made it. Order payments gain the state `cancelled`
(a checkout of a cancelled order: a late success is refunded automatically).

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0030"
down_revision = "0028"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_constraint(op.f("ck_order_payments_state_known"), "order_payments", type_="check")
    op.create_check_constraint(
        "state_known", "order_payments",
        "state IN ('pending', 'paid', 'failed', 'reversed', 'cancelled')")
    op.create_table(
        "order_payment_refunds",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("payment_id", UUID(as_uuid=True), nullable=False),
        sa.Column("order_id", UUID(as_uuid=True), nullable=False),
        sa.Column("principal_id", UUID(as_uuid=True), nullable=True),
        sa.Column("request_id", UUID(as_uuid=True), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("provider_status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("attempted_at", TS, nullable=True),
        sa.Column("settled_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["order_payments.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["web_orders.id"]),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')",
                           name="state_known"),
        sa.CheckConstraint("origin IN ('refund', 'cancel', 'late_payment')",
                           name="origin_known"),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.CheckConstraint("attempts >= 0", name="attempts_range"),
    )
    op.create_index("ix_order_payment_refunds_payment_id", "order_payment_refunds",
                    ["payment_id"])
    op.create_index("ix_order_payment_refunds_order_id", "order_payment_refunds",
                    ["order_id"])
    op.create_index("ix_order_payment_refunds_pending", "order_payment_refunds",
                    ["created_at"], postgresql_where=sa.text("state = 'pending'"))
    op.create_index("uq_order_payment_refunds_request", "order_payment_refunds",
                    ["principal_id", "request_id", "payment_id"], unique=True,
                    postgresql_where=sa.text("state <> 'failed'"))


def downgrade() -> None:
    op.drop_table("order_payment_refunds")
    op.execute("UPDATE order_payments SET state = 'failed' WHERE state = 'cancelled'")
    op.drop_constraint(op.f("ck_order_payments_state_known"), "order_payments", type_="check")
    op.create_check_constraint(
        "state_known", "order_payments",
        "state IN ('pending', 'paid', 'failed', 'reversed')")
