"""Outbox, mailing history, SMS verification codes and message templates.

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

# Kept literally here (not imported): a migration must not change when code does.
DEFAULT_VERIFICATION_TEMPLATE = (
    "Ваш код: {code}. Дійсний {minutes} хв. Нікому не повідомляйте його."
)


def _ts(name: str, nullable: bool = False, default: bool = True) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.text("now()") if default else None)


def upgrade() -> None:
    op.create_table(
        "mailings",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("redacted_body", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivery_error_code", sa.String(32), nullable=True),
        _ts("created_at"), _ts("updated_at"),
        _ts("sent_at", nullable=True, default=False), _ts("final_at", nullable=True, default=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailings")),
        sa.CheckConstraint(
            "state IN ('queued', 'sent', 'delivered', 'undeliverable', 'failed')",
            name=op.f("ck_mailings_state_known")),
    )
    op.create_index("ix_mailings_reference", "mailings", ["reference"])
    op.create_index("ix_mailings_recipient_time", "mailings", ["recipient", "created_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mailing_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("event_type", sa.String(64), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _ts("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"), _ts("finished_at", nullable=True, default=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.ForeignKeyConstraint(["mailing_id"], ["mailings.id"],
                                name=op.f("fk_outbox_mailing_id_mailings")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        sa.CheckConstraint("kind IN ('message', 'event')", name=op.f("ck_outbox_kind_known")),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')",
                           name=op.f("ck_outbox_state_known")),
        sa.CheckConstraint(
            "(kind = 'message' AND mailing_id IS NOT NULL) OR "
            "(kind = 'event' AND event_id IS NOT NULL AND event_type IS NOT NULL)",
            name=op.f("ck_outbox_kind_fields")),
    )
    op.create_index("ix_outbox_mailing_id", "outbox", ["mailing_id"])
    op.create_index("ix_outbox_due", "outbox", ["next_attempt_at"],
                    postgresql_where=sa.text("state = 'pending'"))

    op.create_table(
        "mailing_parts",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("provider_message_id", sa.String(128), nullable=False),
        sa.Column("mailing_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(32), nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("channel", "provider_message_id", name=op.f("pk_mailing_parts")),
        sa.ForeignKeyConstraint(["mailing_id"], ["mailings.id"],
                                name=op.f("fk_mailing_parts_mailing_id_mailings")),
    )
    op.create_index("ix_mailing_parts_mailing_id", "mailing_parts", ["mailing_id"])

    op.create_table(
        "delivery_reports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("provider_message_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False, server_default=""),
        _ts("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_reports")),
    )
    op.create_index("ix_delivery_reports_message", "delivery_reports",
                    ["channel", "provider_message_id"])

    op.create_table(
        "message_templates",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False, server_default=""),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_message_templates")),
    )
    op.bulk_insert(
        sa.table("message_templates", sa.column("name", sa.String), sa.column("body", sa.Text)),
        [{"name": "verification_code", "body": DEFAULT_VERIFICATION_TEMPLATE}],
    )

    op.create_table(
        "verifications",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("card_number", sa.String(13), nullable=False),
        sa.Column("member_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("requester", sa.String(160), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("salt", sa.LargeBinary(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("mailing_id", postgresql.UUID(as_uuid=True), nullable=False),
        _ts("created_at", default=False), _ts("expires_at", default=False),
        _ts("verified_at", nullable=True, default=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.ForeignKeyConstraint(["card_number"], ["cards.number"],
                                name=op.f("fk_verifications_card_number_cards")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_verifications_member_id_members")),
        sa.ForeignKeyConstraint(["mailing_id"], ["mailings.id"],
                                name=op.f("fk_verifications_mailing_id_mailings")),
        sa.CheckConstraint("state IN ('pending', 'verified', 'locked')",
                           name=op.f("ck_verifications_state_known")),
    )
    op.create_index("ix_verifications_phone_time", "verifications", ["phone", "created_at"])
    op.create_index("ix_verifications_requester_time", "verifications",
                    ["requester", "created_at"])


def downgrade() -> None:
    for table in ("verifications", "message_templates", "delivery_reports", "mailing_parts",
                  "outbox", "mailings"):
        op.drop_table(table)
