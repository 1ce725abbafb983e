"""Payments, legal entities, invoices and Nova Poshta waybills (issue 14): the seller's legal
entities (EDRPOU, IBAN, tax status, invoice counter, Nova Poshta sender), which entity each
store and product belongs to, an order's payments per entity and method, every verified
provider callback (replays are recognised), invoices (PDF, numbered per entity) and waybills.

The tables are written out here (not imported from the models) so the migration stays what
it was when the models change; tests/integration/test_models_match_migrations.py keeps them
equal. No new permission: entities are configuration (config.read/write), payments, invoices
and waybills act on online orders (web_orders.*), which the seeded roles already hold.

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-01 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
TABLES = ("waybills", "invoices", "payment_callbacks", "order_payments", "entity_products",
          "entity_stores", "legal_entities")


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(),
                     nullable=False)


def _tables() -> sa.MetaData:
    meta = sa.MetaData(naming_convention=NAMING)
    for name in ("stores", "products", "web_orders"):  # referenced only
        key = "code" if name == "stores" else "sku" if name == "products" else "id"
        sa.Table(name, meta, sa.Column(key, sa.Text, primary_key=True))
    s, t, b, i = sa.String, sa.Text, sa.BigInteger, sa.Integer
    sa.Table(
        "legal_entities", meta,
        sa.Column("code", s(64), primary_key=True),
        sa.Column("name", t, nullable=False),
        sa.Column("edrpou", s(8), nullable=False, unique=True),
        sa.Column("iban", s(34), nullable=False),
        sa.Column("tax_status", s(16), nullable=False),
        sa.Column("address", t, nullable=False),
        sa.Column("liqpay_public_key", s(64), nullable=False),
        sa.Column("np_sender_ref", s(36), nullable=False),
        sa.Column("np_contact_ref", s(36), nullable=False),
        sa.Column("np_city_ref", s(36), nullable=False),
        sa.Column("np_address_ref", s(36), nullable=False),
        sa.Column("np_phone", s(20), nullable=False),
        sa.Column("invoice_next", b, nullable=False),
        _now("created_at"), _now("updated_at"),
        sa.CheckConstraint("tax_status IN ('vat_payer', 'non_vat', 'single_tax')",
                           name="tax_status_known"),
        sa.CheckConstraint("invoice_next >= 1", name="invoice_next_positive"))
    sa.Table(
        "entity_stores", meta,
        sa.Column("store_code", s(64), sa.ForeignKey("stores.code"), primary_key=True),
        sa.Column("entity_code", s(64), sa.ForeignKey("legal_entities.code"),
                  nullable=False))
    sa.Table(
        "entity_products", meta,
        sa.Column("sku", s(64), sa.ForeignKey("products.sku"), primary_key=True),
        sa.Column("entity_code", s(64), sa.ForeignKey("legal_entities.code"),
                  nullable=False))
    sa.Table(
        "order_payments", meta,
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("order_id", UUID(as_uuid=True), sa.ForeignKey("web_orders.id"),
                  nullable=False, index=True),
        sa.Column("entity_code", s(64), sa.ForeignKey("legal_entities.code"),
                  nullable=False),
        sa.Column("method", s(24), nullable=False),
        sa.Column("amount_minor", b, nullable=False),
        sa.Column("currency", s(3), nullable=False),
        sa.Column("state", s(16), nullable=False),
        sa.Column("certificate_number", s(32), nullable=True),
        sa.Column("ledger_tx_id", UUID(as_uuid=True), nullable=True),
        sa.Column("provider", s(32), nullable=False),
        sa.Column("provider_order_id", s(255), nullable=True, unique=True),
        sa.Column("provider_payment_id", s(64), nullable=True),
        sa.Column("provider_status", s(32), nullable=False),
        sa.Column("refunded_minor", b, nullable=False),
        _now("created_at"), _now("updated_at"),
        sa.CheckConstraint("method IN ('certificate', 'points', 'cash_account', 'card', "
                           "'installments', 'cash_on_delivery')", name="method_known"),
        sa.CheckConstraint("state IN ('pending', 'paid', 'failed', 'reversed')",
                           name="state_known"),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor",
                           name="refunded_range"),
        sa.Index("ix_order_payments_pending", "updated_at",
                 postgresql_where=sa.text(
                     "state = 'pending' AND provider_order_id IS NOT NULL")))
    sa.Table(
        "payment_callbacks", meta,
        sa.Column("digest", s(64), primary_key=True),
        sa.Column("provider", s(32), nullable=False),
        sa.Column("provider_order_id", s(255), nullable=False),
        sa.Column("status", s(32), nullable=False),
        sa.Column("outcome", s(32), nullable=False),
        _now("received_at"))
    sa.Table(
        "invoices", meta,
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("entity_code", s(64), sa.ForeignKey("legal_entities.code"),
                  nullable=False),
        sa.Column("number", b, nullable=False),
        sa.Column("order_id", UUID(as_uuid=True), sa.ForeignKey("web_orders.id"),
                  nullable=False),
        sa.Column("total_minor", b, nullable=False),
        sa.Column("vat_minor", b, nullable=False),
        sa.Column("currency", s(3), nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        _now("created_at"),
        sa.UniqueConstraint("entity_code", "number", name="uq_invoices_entity_number"),
        sa.UniqueConstraint("order_id", "entity_code", name="uq_invoices_order_entity"))
    sa.Table(
        "waybills", meta,
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("order_id", UUID(as_uuid=True), sa.ForeignKey("web_orders.id"),
                  nullable=False, index=True),
        sa.Column("entity_code", s(64), sa.ForeignKey("legal_entities.code"),
                  nullable=False),
        sa.Column("number", s(32), nullable=False),
        sa.Column("ref", s(36), nullable=False),
        sa.Column("state", s(16), nullable=False),
        sa.Column("status_code", s(8), nullable=False),
        sa.Column("cod_minor", b, nullable=False),
        sa.Column("seats", i, nullable=False),
        _now("created_at"), _now("updated_at"),
        sa.CheckConstraint("state IN ('created', 'deleted', 'received', 'refused', "
                           "'returned')", name="state_known"),
        sa.Index("uq_waybills_live", "order_id", "entity_code", unique=True,
                 postgresql_where=sa.text("state <> 'deleted'")))
    return meta


def upgrade() -> None:
    meta = _tables()
    meta.create_all(op.get_bind(), tables=[meta.tables[n] for n in reversed(TABLES)],
                    checkfirst=False)


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
