"""Foundation: org structure, catalog, members, cards, receipts, API keys, idempotency.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:38:12.051279
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "card_types",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("accrual_bps", sa.Integer(), nullable=False),
        sa.Column("number_prefix", sa.String(length=6), nullable=False),
        sa.Column("requires_verification", sa.Boolean(), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "accrual_bps BETWEEN 0 AND 10000", name=op.f("ck_card_types_accrual_bps_range")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_card_types")),
        sa.UniqueConstraint("number_prefix", name=op.f("uq_card_types_number_prefix")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("method", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("middle_name", sa.Text(), nullable=False),
        sa.Column("gender", sa.String(length=16), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("marital_status", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("social_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("registration_channel", sa.String(length=32), nullable=False),
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
            "phone IS NOT NULL OR email IS NOT NULL", name=op.f("ck_members_phone_or_email")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("email", name=op.f("uq_members_email")),
        sa.UniqueConstraint("phone", name=op.f("uq_members_phone")),
    )
    op.create_table(
        "products",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("group_code", sa.String(length=64), nullable=False),
        sa.Column("subgroup_code", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=128), nullable=False),
        sa.Column("supplier_code", sa.String(length=64), nullable=False),
        sa.Column("price_category", sa.String(length=64), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_products")),
    )
    op.create_table(
        "store_networks",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_store_networks")),
    )
    op.create_table(
        "stores",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_stores")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("terminal_id", sa.String(length=64), nullable=True),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_code"], ["stores.code"], name=op.f("fk_api_keys_store_code_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    op.create_table(
        "cards",
        sa.Column("number", sa.String(length=13), nullable=False),
        sa.Column("card_type", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("replaces_number", sa.String(length=13), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["card_type"], ["card_types.code"], name=op.f("fk_cards_card_type_card_types")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_cards_member_id_members")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_cards")),
    )
    op.create_index(op.f("ix_cards_member_id"), "cards", ["member_id"], unique=False)
    op.create_table(
        "member_contact_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_contact_changes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_contact_changes")),
    )
    op.create_index(
        op.f("ix_member_contact_changes_member_id"),
        "member_contact_changes",
        ["member_id"],
        unique=False,
    )
    op.create_table(
        "product_barcodes",
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["sku"],
            ["products.sku"],
            name=op.f("fk_product_barcodes_sku_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("barcode", name=op.f("pk_product_barcodes")),
    )
    op.create_index(op.f("ix_product_barcodes_sku"), "product_barcodes", ["sku"], unique=False)
    op.create_table(
        "receipts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("receipt_number", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=True),
        sa.Column("card_number", sa.String(length=13), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_total_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "confirmed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_receipts_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["store_code"], ["stores.code"], name=op.f("fk_receipts_store_code_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint(
            "store_code", "terminal_id", "receipt_number", name="uq_receipt_number"
        ),
    )
    op.create_index(
        "ix_receipts_member_time", "receipts", ["member_id", "confirmed_at"], unique=False
    )
    op.create_table(
        "store_network_members",
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("network_code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_code"],
            ["store_networks.code"],
            name=op.f("fk_store_network_members_network_code_store_networks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_code"],
            ["stores.code"],
            name=op.f("fk_store_network_members_store_code_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "store_code", "network_code", name=op.f("pk_store_network_members")
        ),
    )
    op.create_table(
        "card_state_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("card_number", sa.String(length=13), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["card_number"], ["cards.number"], name=op.f("fk_card_state_changes_card_number_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_state_changes")),
    )
    op.create_index(
        op.f("ix_card_state_changes_card_number"),
        "card_state_changes",
        ["card_number"],
        unique=False,
    )


def downgrade() -> None:

    op.drop_index(op.f("ix_card_state_changes_card_number"), table_name="card_state_changes")
    op.drop_table("card_state_changes")
    op.drop_table("store_network_members")
    op.drop_index("ix_receipts_member_time", table_name="receipts")
    op.drop_table("receipts")
    op.drop_index(op.f("ix_product_barcodes_sku"), table_name="product_barcodes")
    op.drop_table("product_barcodes")
    op.drop_index(op.f("ix_member_contact_changes_member_id"), table_name="member_contact_changes")
    op.drop_table("member_contact_changes")
    op.drop_index(op.f("ix_cards_member_id"), table_name="cards")
    op.drop_table("cards")
    op.drop_table("api_keys")
    op.drop_table("stores")
    op.drop_table("store_networks")
    op.drop_table("products")
    op.drop_table("members")
    op.drop_table("idempotency_records")
    op.drop_table("card_types")
