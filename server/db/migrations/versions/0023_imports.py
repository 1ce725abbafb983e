"""Historical data migration (issue 19): import runs, what each imported, the directories.

- import_batches: one row per `kopilka import` run (its batch id): kind, source, policy,
  state (running, done, failed, rolled_back), the checkpoint a resumed run continues from,
  its counts and the ledger transaction its balances were booked under.
- import_records: what the source's own id (1C GUID, the site's id) became, with the content
  hash that makes a re-run import only what changed, the batch that created it and the flags
  set on import (a legacy card number without our check digit).
- product_groups, brands, suppliers: the directories products point at by code.
- certificate_entries stays append-only, except that the rollback of an import batch may
  remove the entries that batch wrote (it sets kopilka.rollback_batch in its transaction).

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-01 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0016"
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION certificate_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.note = 'import:' || current_setting('kopilka.rollback_batch', true)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'certificate_entries is append-only';
END $$;
"""

ORIGINAL = """
CREATE OR REPLACE FUNCTION certificate_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'certificate_entries is append-only';
END $$;
"""


def _directory(name: str, *extra: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        *extra,
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("code", name=f"pk_{name}"),
    )


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("files", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("files_hash", sa.LargeBinary(), nullable=False),
        sa.Column("checkpoint_row", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("counts", postgresql.JSONB(), nullable=False,
                  server_default=sa.text("'{}'::jsonb")),
        sa.Column("ledger_tx", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("principal", sa.String(128), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_import_batches"),
        sa.CheckConstraint("state IN ('running', 'done', 'failed', 'rolled_back')",
                           name="ck_import_batches_state_known"),
    )
    op.create_index("ix_import_batches_kind", "import_batches", ["kind", "source", "files_hash"])
    op.create_table(
        "import_records",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("batch_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("updated_batch", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("flags", postgresql.ARRAY(sa.Text()), nullable=False,
                  server_default=sa.text("'{}'::text[]")),
        sa.PrimaryKeyConstraint("kind", "source", "source_id", name="pk_import_records"),
    )
    op.create_index("ix_import_records_batch_id", "import_records", ["batch_id"])
    op.create_index("ix_import_records_target", "import_records", ["kind", "target"])
    _directory("product_groups", sa.Column("parent_code", sa.String(64), nullable=False,
                                           server_default=""))
    _directory("brands")
    _directory("suppliers")
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.execute(ORIGINAL)
    for name in ("suppliers", "brands", "product_groups", "import_records", "import_batches"):
        op.drop_table(name)
