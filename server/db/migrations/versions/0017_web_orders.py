"""Online-store orders: orders, lines, history, members' addresses, stock, stores' cities,
requests to stores to confirm lines and their answers, alternatives offered by signed links.

Also grants the new object type `web_orders` (online-store orders; `orders` means receipts)
to the seeded roles: store_backend places and manages orders, operator and admin everything,
cashier reads them and answers store requests for its store (approve).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0021"
branch_labels = None
depends_on = None

GRANTS: dict[str, tuple[str, ...]] = {
    "store_backend": ("read", "create", "update"),
    "operator": ("read", "create", "update", "approve"),
    "admin": ("read", "create", "update", "delete", "approve", "export"),
    "cashier": ("read", "approve"),
}


def upgrade() -> None:
    op.create_table(
        "member_addresses",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("street", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.String(length=16), nullable=False),
        sa.Column("nova_poshta_branch", sa.String(length=64), nullable=False),
        sa.Column("recipient_name", sa.Text(), nullable=False),
        sa.Column("recipient_phone", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_addresses_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_addresses")),
    )
    op.create_index(
        op.f("ix_member_addresses_member_id"), "member_addresses", ["member_id"], unique=False
    )
    op.create_table(
        "stock_balances",
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "quantity_milli >= 0", name=op.f("ck_stock_balances_quantity_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["store_code"], ["stores.code"], name=op.f("fk_stock_balances_store_code_stores")
        ),
        sa.PrimaryKeyConstraint("store_code", "sku", name=op.f("pk_stock_balances")),
    )
    op.create_index(op.f("ix_stock_balances_sku"), "stock_balances", ["sku"], unique=False)
    op.create_table(
        "store_cities",
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_code"], ["stores.code"], name=op.f("fk_store_cities_store_code_stores")
        ),
        sa.PrimaryKeyConstraint("store_code", name=op.f("pk_store_cities")),
    )
    op.create_table(
        "web_orders",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("external_number", sa.String(length=64), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("card_number", sa.String(length=13), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("delivery_kind", sa.String(length=16), nullable=False),
        sa.Column("pickup_store_code", sa.String(length=64), nullable=True),
        sa.Column("address_id", sa.UUID(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("points_requested", sa.BigInteger(), nullable=False),
        sa.Column("points_reserved", sa.BigInteger(), nullable=False),
        sa.Column("points_spent", sa.BigInteger(), nullable=False),
        sa.Column("points_accrued", sa.BigInteger(), nullable=False),
        sa.Column("points_returned", sa.BigInteger(), nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), nullable=False),
        sa.Column("reserve_tx_id", sa.UUID(), nullable=True),
        sa.Column("accrual_tx_id", sa.UUID(), nullable=True),
        sa.Column("accrual_lots", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lot_returns", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "delivery_kind IN ('pickup', 'courier', 'nova_poshta')",
            name=op.f("ck_web_orders_delivery_known"),
        ),
        sa.CheckConstraint(
            "state IN ('placed', 'confirmed', 'completed', 'cancelled', 'returned')",
            name=op.f("ck_web_orders_state_known"),
        ),
        sa.CheckConstraint(
            "points_reserved >= 0", name=op.f("ck_web_orders_reserved_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["address_id"],
            ["member_addresses.id"],
            name=op.f("fk_web_orders_address_id_member_addresses"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_web_orders_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["pickup_store_code"],
            ["stores.code"],
            name=op.f("fk_web_orders_pickup_store_code_stores"),
        ),
        sa.ForeignKeyConstraint(
            ["store_code"], ["stores.code"], name=op.f("fk_web_orders_store_code_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_orders")),
    )
    op.create_index("ix_web_orders_created", "web_orders", ["created_at"], unique=False)
    op.create_index(
        "ix_web_orders_member_created", "web_orders", ["member_id", "created_at"], unique=False
    )
    op.create_table(
        "web_order_history",
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["web_orders.id"], name=op.f("fk_web_order_history_order_id_web_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "version", name=op.f("pk_web_order_history")),
    )
    op.create_table(
        "web_order_lines",
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("base_amount", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("points_paid", sa.BigInteger(), nullable=False),
        sa.Column("final_amount", sa.BigInteger(), nullable=False),
        sa.Column("accrual_points", sa.BigInteger(), nullable=False),
        sa.Column("promotions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("returned_milli", sa.BigInteger(), nullable=False),
        sa.Column("points_returned", sa.BigInteger(), nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("split_from", sa.Integer(), nullable=True),
        sa.Column("replaces", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'confirmed', 'cancelled', 'returned')",
            name=op.f("ck_web_order_lines_state_known"),
        ),
        sa.CheckConstraint("quantity_milli > 0", name=op.f("ck_web_order_lines_quantity_positive")),
        sa.CheckConstraint(
            "returned_milli >= 0 AND returned_milli <= quantity_milli",
            name=op.f("ck_web_order_lines_returned_range"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["web_orders.id"], name=op.f("fk_web_order_lines_order_id_web_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_web_order_lines")),
    )
    op.create_table(
        "web_order_store_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'answered', 'expired', 'closed')",
            name=op.f("ck_web_order_store_requests_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["web_orders.id"],
            name=op.f("fk_web_order_store_requests_order_id_web_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["store_code"],
            ["stores.code"],
            name=op.f("fk_web_order_store_requests_store_code_stores"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_order_store_requests")),
    )
    op.create_index(
        op.f("ix_web_order_store_requests_order_id"),
        "web_order_store_requests",
        ["order_id"],
        unique=False,
    )
    op.create_index(
        "ix_web_order_store_requests_pending",
        "web_order_store_requests",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "web_order_store_request_lines",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("confirmed_milli", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "answer IS NULL OR answer IN ('confirmed', 'partly', 'refused')",
            name=op.f("ck_web_order_store_request_lines_answer_known"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["web_order_store_requests.id"],
            name=op.f("fk_web_order_store_request_lines_request_id_web_order_store_requests"),
        ),
        sa.PrimaryKeyConstraint(
            "request_id", "line_no", name=op.f("pk_web_order_store_request_lines")
        ),
    )
    op.create_table(
        "web_order_offers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["web_orders.id"], name=op.f("fk_web_order_offers_order_id_web_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_order_offers")),
    )
    op.create_index(
        op.f("ix_web_order_offers_order_id"), "web_order_offers", ["order_id"], unique=False
    )
    for role, actions in GRANTS.items():
        grants = [{"object_type": "web_orders", "action": a, "scope": "all"} for a in actions]
        op.execute(
            sa.text(
                "UPDATE roles SET grants = grants || CAST(:g AS jsonb) WHERE name = :n "
                "AND NOT grants @> CAST(:g AS jsonb)"
            ).bindparams(g=json.dumps(grants), n=role)
        )


def downgrade() -> None:
    op.execute(
        "UPDATE roles SET grants = (SELECT coalesce(jsonb_agg(g), '[]'::jsonb) "
        "FROM jsonb_array_elements(grants) g WHERE g->>'object_type' <> 'web_orders')"
    )
    for table in (
        "web_order_offers",
        "web_order_store_request_lines",
        "web_order_store_requests",
        "web_order_history",
        "web_order_lines",
        "web_orders",
        "store_cities",
        "stock_balances",
        "member_addresses",
    ):
        op.drop_table(table)
