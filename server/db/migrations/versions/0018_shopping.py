"""Shopping: baskets, wishlists and their hits, stock levels, site events, product pairs.

Also the `shopping` object type's rights for the seeded roles: the online store's backend
reports and reads (store_backend: shopping.create, shopping.read), operators read
(shopping.read), admin gets every action on it like on every other object type.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

ACTIONS = ("read", "create", "update", "delete", "approve", "export")
GRANTS: dict[str, tuple[str, ...]] = {
    "store_backend": ("create", "read"),
    "operator": ("read",),
    "admin": ACTIONS,
}


def _ts(name: str, nullable: bool = False, default: bool = True) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.text("now()") if default else None)


def _uuid(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, postgresql.UUID(as_uuid=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "shopping_baskets",
        _uuid("id"),
        sa.Column("store_code", sa.String(64), nullable=False),
        sa.Column("basket_id", sa.String(128), nullable=False),
        _uuid("member_id", nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lines", postgresql.JSONB(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        _ts("reported_at", default=False),
        _ts("ordered_at", nullable=True, default=False),
        _ts("abandoned_at", nullable=True, default=False),
        sa.Column("order_reference", sa.String(128), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopping_baskets")),
        sa.ForeignKeyConstraint(["store_code"], ["stores.code"],
                                name=op.f("fk_shopping_baskets_store_code_stores")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_shopping_baskets_member_id_members")),
        sa.UniqueConstraint("store_code", "basket_id", name="uq_shopping_baskets_store_basket"),
        sa.CheckConstraint("state IN ('open', 'ordered')",
                           name=op.f("ck_shopping_baskets_state_known")),
        sa.CheckConstraint("version > 0", name=op.f("ck_shopping_baskets_version_positive")),
    )
    op.create_index("ix_shopping_baskets_member_id", "shopping_baskets", ["member_id"])
    op.create_index("ix_shopping_baskets_abandonable", "shopping_baskets", ["reported_at"],
                    postgresql_where=sa.text("state = 'open' AND abandoned_at IS NULL"))

    op.create_table(
        "shopping_wishlist_items",
        _uuid("member_id"),
        sa.Column("sku", sa.String(64), nullable=False),
        _uuid("id"),
        _ts("added_at"),
        sa.PrimaryKeyConstraint("member_id", "sku", name=op.f("pk_shopping_wishlist_items")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_shopping_wishlist_items_member_id_members")),
        sa.UniqueConstraint("id", name=op.f("uq_shopping_wishlist_items_id")),
    )
    op.create_index("ix_shopping_wishlist_items_sku", "shopping_wishlist_items", ["sku"])
    op.create_index("ix_shopping_wishlist_items_member_time", "shopping_wishlist_items",
                    ["member_id", "added_at", "id"])

    op.create_table(
        "shopping_wishlist_hits",
        _uuid("member_id"),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("occurrence", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _uuid("event_id"),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("member_id", "sku", "occurrence",
                                name=op.f("pk_shopping_wishlist_hits")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_shopping_wishlist_hits_member_id_members")),
        sa.CheckConstraint("kind IN ('promotion', 'stock')",
                           name=op.f("ck_shopping_wishlist_hits_kind_known")),
    )

    op.create_table(
        "shopping_stock_levels",
        sa.Column("store_code", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("available_milli", sa.BigInteger(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("store_code", "sku", name=op.f("pk_shopping_stock_levels")),
        sa.ForeignKeyConstraint(["store_code"], ["stores.code"],
                                name=op.f("fk_shopping_stock_levels_store_code_stores")),
    )
    op.create_table(
        "shopping_stock_skus",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("available_milli", sa.BigInteger(), nullable=False),
        sa.Column("restocks", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_shopping_stock_skus")),
    )

    op.create_table(
        "shopping_site_events",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False,
                  server_default=sa.text("gen_random_uuid()")),
        _uuid("member_id"),
        sa.Column("store_code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("search_query", sa.String(256), nullable=True),
        sa.Column("basket_id", sa.String(128), nullable=True),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=True),
        _ts("occurred_at", default=False),
        _ts("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopping_site_events")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_shopping_site_events_member_id_members")),
        sa.ForeignKeyConstraint(["store_code"], ["stores.code"],
                                name=op.f("fk_shopping_site_events_store_code_stores")),
        sa.CheckConstraint("kind IN ('view', 'search', 'basket_add', 'basket_remove')",
                           name=op.f("ck_shopping_site_events_kind_known")),
    )
    op.create_index("ix_shopping_site_events_occurred_at", "shopping_site_events",
                    ["occurred_at"])
    op.create_index("ix_shopping_site_events_member_time", "shopping_site_events",
                    ["member_id", "occurred_at", "id"])

    op.create_table(
        "shopping_pairs",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("other_sku", sa.String(64), nullable=False),
        sa.Column("pair_count", sa.BigInteger(), nullable=False),
        sa.Column("sku_receipts", sa.BigInteger(), nullable=False),
        sa.Column("confidence_permille", sa.Integer(), nullable=False),
        sa.Column("support_permille", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sku", "other_sku", name=op.f("pk_shopping_pairs")),
    )
    op.create_table(
        "shopping_pair_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _ts("computed_at", default=False),
        _ts("since", default=False),
        sa.Column("receipts", sa.BigInteger(), nullable=False),
        sa.Column("pairs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopping_pair_runs")),
    )

    for role, actions in GRANTS.items():
        grants = [{"object_type": "shopping", "action": a, "scope": "all"} for a in actions]
        op.execute(sa.text(
            "UPDATE roles SET grants = grants || CAST(:grants AS jsonb) WHERE name = :name")
            .bindparams(grants=json.dumps(grants), name=role))


def downgrade() -> None:
    op.execute("""
        UPDATE roles SET grants = coalesce((
          SELECT jsonb_agg(g) FROM jsonb_array_elements(grants) AS x(g)
           WHERE g->>'object_type' <> 'shopping'), '[]'::jsonb)""")
    for table in ("shopping_pair_runs", "shopping_pairs", "shopping_site_events",
                  "shopping_stock_skus", "shopping_stock_levels", "shopping_wishlist_hits",
                  "shopping_wishlist_items", "shopping_baskets"):
        op.drop_table(table)
