"""Gift certificates: types, certificates, append-only entries.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def _now(name: str) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _when(name: str) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "certificate_types",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("denominations", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("barcode_format", sa.String(length=16), nullable=False),
        sa.Column("number_prefix", sa.String(length=6), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.Column("remainder_policy", sa.String(length=16), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        _when("valid_from"),
        _when("valid_until"),
        sa.Column("expired_refund_policy", sa.String(length=16), nullable=False),
        sa.Column("refund_extension_days", sa.Integer(), nullable=False),
        sa.Column("product_skus", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("product_groups", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_certificate_types")),
        sa.UniqueConstraint("number_prefix", name=op.f("uq_certificate_types_number_prefix")),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("type_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("denomination_minor", sa.BigInteger(), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("remainder_policy", sa.String(length=16), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("batch_id", sa.UUID(), nullable=True),
        _when("activated_at"),
        _when("valid_from"),
        _when("expires_at"),
        sa.Column("replaces_number", sa.String(length=32), nullable=True),
        sa.Column("replaced_by_number", sa.String(length=32), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint("balance_minor >= 0",
                           name=op.f("ck_certificates_balance_not_negative")),
        sa.CheckConstraint("denomination_minor > 0",
                           name=op.f("ck_certificates_denomination_positive")),
        sa.ForeignKeyConstraint(["type_code"], ["certificate_types.code"],
                                name=op.f("fk_certificates_type_code_certificate_types")),
        sa.ForeignKeyConstraint(["store_code"], ["stores.code"],
                                name=op.f("fk_certificates_store_code_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_certificates_number")),
    )
    op.create_index("ix_certificates_expiry", "certificates", ["expires_at"],
                    postgresql_where=sa.text("state IN ('active', 'blocked')"))
    op.create_index("ix_certificates_type_code", "certificates", ["type_code"])
    op.create_table(
        "certificate_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("certificate_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_minor", sa.BigInteger(), nullable=False),
        sa.Column("receipt_id", sa.UUID(), nullable=True),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("principal", sa.String(length=128), server_default="", nullable=False),
        _now("created_at"),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"],
                                name=op.f("fk_certificate_entries_certificate_id_certificates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_entries")),
    )
    op.create_index("ix_certificate_entries_certificate_id", "certificate_entries",
                    ["certificate_id", "id"])
    op.create_index("ix_certificate_entries_receipt_id", "certificate_entries", ["receipt_id"],
                    postgresql_where=sa.text("receipt_id IS NOT NULL"))
    op.create_index("ix_certificate_entries_created_at", "certificate_entries", ["created_at"])
    # The ledger is append-only: corrections are new entries, never edits.
    op.execute("""
        CREATE FUNCTION certificate_entries_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'certificate_entries is append-only';
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER certificate_entries_append_only
        BEFORE UPDATE OR DELETE ON certificate_entries
        FOR EACH ROW EXECUTE FUNCTION certificate_entries_append_only();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER certificate_entries_append_only ON certificate_entries")
    op.execute("DROP FUNCTION certificate_entries_append_only()")
    op.drop_table("certificate_entries")
    op.drop_table("certificates")
    op.drop_table("certificate_types")
