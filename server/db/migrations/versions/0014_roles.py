"""Roles as data, seeded with the five built-in roles; VIP members.

The seed gives each built-in role exactly the rights it had when roles were code (each
permission is one (object type, action) right: server/auth/permissions.py NEEDS), every grant
with scope `all` so keys keep their rights whatever their binding. The member views are the
two of server/members/views.py: the sale view (first name, masked phone) and the full one.

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0015"
branch_labels = None
depends_on = None

OBJECTS = ("members", "vip_members", "cards", "points", "cash_accounts", "certificates",
           "promotions", "bonus_rules", "orders", "mailings", "campaigns", "surveys", "appeals",
           "catalog", "stores", "keys", "users", "roles", "audit")
ACTIONS = ("read", "create", "update", "delete", "approve", "export")
PROFILE = ("first_name", "last_name", "middle_name", "gender", "birth_date", "marital_status",
           "address", "phone", "email", "social_ids")
SALE = ("first_name", "phone")

# A till's and a web shop's rights: sell, refund, spend points after an SMS code, look up,
# register at the counter, sell certificates.
POS = ("orders.read", "orders.create", "orders.update", "orders.approve", "points.read",
       "points.update", "members.read", "members.create", "certificates.read",
       "certificates.create")

# name: (rights, member fields, phone masked, description)
SEED: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, str]] = {
    "cashier": (POS, SALE, True, "A till in a store: sells, looks up, registers at the counter."),
    "store_backend": (POS, SALE, True, "The online store's backend: a till's rights, from the "
                      "web, with the same sale view of members."),
    "operator": ((*POS, "points.create", "cash_accounts.update", "members.update",
                  "cards.update", "certificates.update", "stores.read", "mailings.read"),
                 PROFILE, False, "Contact center and marketing: members, cards, points, "
                 "certificates."),
    "integrator": (("catalog.update", "members.create", "members.read", "stores.read"), SALE,
                   True, "External systems (1C, questionnaires): catalog and registrations; "
                   "they send personal data in but never need it back."),
    "admin": (tuple(f"{o}.{a}" for o in OBJECTS for a in ACTIONS), PROFILE, False,
              "Configures the program itself, including keys and roles."),
    "console": (("users.approve",), SALE, True, "The web console's backend: signs people in; "
                "what a person may then do comes from the user's own roles."),
}


def upgrade() -> None:
    op.add_column("members", sa.Column("vip", sa.Boolean(), server_default=sa.false(),
                                       nullable=False))
    roles = op.create_table(
        "roles",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("grants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("member_fields", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("mask_phone", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_roles")),
    )
    op.bulk_insert(roles, [
        {"name": name, "description": description,
         "grants": [{"object_type": right.split(".")[0], "action": right.split(".")[1],
                     "scope": "all"} for right in sorted(rights)],
         "member_fields": sorted(fields), "mask_phone": masked, "updated_by": "migration 0014"}
        for name, (rights, fields, masked, description) in SEED.items()
    ])


def downgrade() -> None:
    op.drop_table("roles")
    op.drop_column("members", "vip")
