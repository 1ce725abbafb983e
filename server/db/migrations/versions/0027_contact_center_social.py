"""The contact center (issue 17): appeal topics with queues and deadlines, appeals with
their notes and history (who, when, what), the knowledge base with a full-text index
('simple' configuration over case-folded text, so Ukrainian words match in any locale).

Grants the operator role appeals read/create/update (admin has every right already).

Revision ID: 0027
Revises: 0022
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
OPERATOR_RIGHTS = ("appeals.read", "appeals.create", "appeals.update")


def upgrade() -> None:
    op.create_table(
        "appeal_topics",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("deadline_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("deadline_minutes > 0", name=op.f("ck_appeal_topics_deadline_positive")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_appeal_topics")),
    )
    op.create_table(
        "appeals",
        sa.Column("id", UUID, nullable=False),
        sa.Column("number", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("member_id", UUID, nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("topic_code", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assignee_user_id", UUID, nullable=True),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("overdue_at", TS, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("caller_phone", sa.String(length=16), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('new', 'assigned', 'in_progress', 'waiting', 'resolved', "
                           "'closed')", name=op.f("ck_appeals_state_known")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_appeals_member_id_members")),
        sa.ForeignKeyConstraint(["topic_code"], ["appeal_topics.code"],
                                name=op.f("fk_appeals_topic_code_appeal_topics")),
        sa.ForeignKeyConstraint(["assignee_user_id"], ["operator_users.id"],
                                name=op.f("fk_appeals_assignee_user_id_operator_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("number", name=op.f("uq_appeals_number")),
        sa.UniqueConstraint("call_id", name=op.f("uq_appeals_call_id")),
    )
    op.create_index("ix_appeals_member_id_created_at", "appeals", ["member_id", "created_at"])
    op.create_index("ix_appeals_queue_state", "appeals", ["queue", "state"])
    op.create_index("ix_appeals_due_at", "appeals", ["due_at"])
    op.create_table(
        "appeal_notes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("appeal_id", UUID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"],
                                name=op.f("fk_appeal_notes_appeal_id_appeals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_notes")),
    )
    op.create_index("ix_appeal_notes_appeal_id", "appeal_notes", ["appeal_id"])
    op.create_table(
        "appeal_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("appeal_id", UUID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"],
                                name=op.f("fk_appeal_history_appeal_id_appeals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_history")),
    )
    op.create_index("ix_appeal_history_appeal_id", "appeal_history", ["appeal_id"])
    op.create_table(
        "kb_articles",
        sa.Column("id", UUID, nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("search", postgresql.TSVECTOR(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    op.create_index("ix_kb_articles_search", "kb_articles", ["search"], postgresql_using="gin")
    op.execute(sa.text(
        "UPDATE roles SET grants = grants || CAST(:g AS jsonb) WHERE name = 'operator'"
    ).bindparams(g=json.dumps([{"object_type": r.split(".")[0], "action": r.split(".")[1],
                                "scope": "all"} for r in OPERATOR_RIGHTS])))


def downgrade() -> None:
    op.execute(
        "UPDATE roles SET grants = (SELECT coalesce(jsonb_agg(g), '[]'::jsonb) FROM "
        "jsonb_array_elements(grants) g WHERE g->>'object_type' <> 'appeals') "
        "WHERE name = 'operator'")
    for table in ("kb_articles", "appeal_history", "appeal_notes", "appeals", "appeal_topics"):
        op.drop_table(table)
