"""Surveys (issue 17): definitions with every saved version, personal invitations (single
use, expiring), responses with the reward given (one per member and survey: a partial unique
index, so two submits at once cannot both reward).

Grants the operator role surveys read/create/update (admin has every right already).

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-01 13:40:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0028"
down_revision = "0029"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())
OPERATOR_RIGHTS = ("surveys.read", "surveys.create", "surveys.update")


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_surveys")),
    )
    op.create_table(
        "survey_versions",
        sa.Column("survey_code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["survey_code"], ["surveys.code"],
                                name=op.f("fk_survey_versions_survey_code_surveys")),
        sa.PrimaryKeyConstraint("survey_code", "version", name=op.f("pk_survey_versions")),
    )
    op.create_table(
        "survey_invitations",
        sa.Column("id", UUID, nullable=False),
        sa.Column("survey_code", sa.String(length=64), nullable=False),
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["survey_code"], ["surveys.code"],
                                name=op.f("fk_survey_invitations_survey_code_surveys")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_survey_invitations_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
    )
    op.create_index("ix_survey_invitations_member_id", "survey_invitations", ["member_id"])
    op.create_table(
        "survey_responses",
        sa.Column("id", UUID, nullable=False),
        sa.Column("survey_code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("member_id", UUID, nullable=True),
        sa.Column("invitation_id", UUID, nullable=True),
        sa.Column("answers", JSONB, nullable=False),
        sa.Column("reward", JSONB, nullable=False),
        sa.Column("completed_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["survey_code"], ["surveys.code"],
                                name=op.f("fk_survey_responses_survey_code_surveys")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_survey_responses_member_id_members")),
        sa.ForeignKeyConstraint(["invitation_id"], ["survey_invitations.id"],
                                name=op.f("fk_survey_responses_invitation_id_survey_invitations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_survey_responses_invitation_id")),
    )
    op.create_index("ix_survey_responses_survey_code", "survey_responses", ["survey_code"])
    op.create_index("ix_survey_responses_member_id", "survey_responses", ["member_id"])
    op.create_index("uq_survey_responses_member", "survey_responses",
                    ["survey_code", "member_id"], unique=True,
                    postgresql_where=sa.text("member_id IS NOT NULL"))
    op.execute(sa.text(
        "UPDATE roles SET grants = grants || CAST(:g AS jsonb) WHERE name = 'operator'"
    ).bindparams(g=json.dumps([{"object_type": r.split(".")[0], "action": r.split(".")[1],
                                "scope": "all"} for r in OPERATOR_RIGHTS])))


def downgrade() -> None:
    op.execute(
        "UPDATE roles SET grants = (SELECT coalesce(jsonb_agg(g), '[]'::jsonb) FROM "
        "jsonb_array_elements(grants) g WHERE g->>'object_type' <> 'surveys') "
        "WHERE name = 'operator'")
    for table in ("survey_responses", "survey_invitations", "survey_versions", "surveys"):
        op.drop_table(table)
