"""Historical data migration (issue 19): import runs, what each imported, the directories.

- import_batches: one row per `kopilka import` run (its batch id): kind, source, policy,
  state (running, done, failed, rolled_back), the checkpoint a resumed run continues from,
  its counts and the ledger transaction its balances were booked under.
- import_records: what the source's own id (1C GUID, the site's id) became, with the content
  hash that makes a re-run import only what changed, the batch that created it and the flags
  set on import (a legacy card number without our check digit).
- product_groups, brands, suppliers: the directories products point at by code.
- SQL functions the import's set-based parse uses (server/db/imports/parse.py):
  kopilka_ua_phone (the Ukrainian mobile notations normalize_phone accepts, to E.164; NULL
  for anything else, which Python then decides), kopilka_ean13_ok, kopilka_import_moment and
  kopilka_import_date (NULL for what is not a time or a date; never an error).
- The object type "imports" (ImportService): every action for the seeded admin role,
  "create" (run an import) for the integrator (1C and the site bring their history over).
- certificate_entries stays append-only, except that the rollback of an import batch may
  remove the entries that batch wrote (it sets kopilka.rollback_batch in its transaction).

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-01 12:20:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
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


FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION kopilka_ua_phone(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN translate(raw, E' ()-.\t', '')
    ~ '^(\+?380|0)(39|50|63|66|67|68|73|9[1-9])[0-9][0-9][0-9][0-9][0-9][0-9][0-9]$'
  THEN '+380' || right(translate(raw, E' ()-.\t', ''), 9) END
$$;

CREATE OR REPLACE FUNCTION kopilka_ean13_ok(n text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN length(n) = 13 AND n ~ '^[0-9]+$' THEN
  (10 - ((substr(n, 1, 1)::int + substr(n, 3, 1)::int + substr(n, 5, 1)::int
          + substr(n, 7, 1)::int + substr(n, 9, 1)::int + substr(n, 11, 1)::int
          + 3 * (substr(n, 2, 1)::int + substr(n, 4, 1)::int + substr(n, 6, 1)::int
                 + substr(n, 8, 1)::int + substr(n, 10, 1)::int + substr(n, 12, 1)::int))
         % 10)) % 10 = substr(n, 13, 1)::int
  ELSE false END
$$;

CREATE OR REPLACE FUNCTION kopilka_import_ymd_ok(y int, m int, d int) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN y BETWEEN 1 AND 9999 AND m BETWEEN 1 AND 12
  THEN d BETWEEN 1 AND extract(day FROM make_date(y, m, 1) + interval '1 month - 1 day')::int
  ELSE false END
$$;

-- YYYY-MM-DD (month and day may have one digit) or DD.MM.YYYY; NULL for anything else.
CREATE OR REPLACE FUNCTION kopilka_import_date(x text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN x ~ '^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?$' THEN CASE
    WHEN kopilka_import_ymd_ok(split_part(x, '-', 1)::int, split_part(x, '-', 2)::int,
                               split_part(x, '-', 3)::int)
    THEN make_date(split_part(x, '-', 1)::int, split_part(x, '-', 2)::int,
                   split_part(x, '-', 3)::int) END
  WHEN x ~ '^[0-9][0-9]?\.[0-9][0-9]?\.[0-9][0-9][0-9][0-9]$' THEN CASE
    WHEN kopilka_import_ymd_ok(split_part(x, '.', 3)::int, split_part(x, '.', 2)::int,
                               split_part(x, '.', 1)::int)
    THEN make_date(split_part(x, '.', 3)::int, split_part(x, '.', 2)::int,
                   split_part(x, '.', 1)::int) END
END
$$;

-- ISO date and time (T or a space), with or without an offset; a date alone is midnight.
-- Without an offset the time is Kyiv's wall clock (1C exports local time). NULL for
-- anything else. (Bounded repetitions such as {4} make PostgreSQL's regexes slow.)
CREATE OR REPLACE FUNCTION kopilka_import_moment(x text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN x ~ '^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ]' THEN CASE
    WHEN NOT kopilka_import_ymd_ok(substr(x, 1, 4)::int, substr(x, 6, 2)::int,
                                   substr(x, 9, 2)::int) THEN NULL
    WHEN substr(x, 12) ~ '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$'
      AND length(x) <= 26
      THEN overlay(x placing ' ' from 11 for 1)::timestamp AT TIME ZONE 'Europe/Kyiv'
    WHEN substr(x, 12) ~ '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?'
                         '(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)$'
      AND length(x) <= 32
      THEN overlay(x placing ' ' from 11 for 1)::timestamptz END
  ELSE kopilka_import_date(x)::timestamp AT TIME ZONE 'Europe/Kyiv'
END
$$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS kopilka_import_moment(text);
DROP FUNCTION IF EXISTS kopilka_import_date(text);
DROP FUNCTION IF EXISTS kopilka_import_ymd_ok(int, int, int);
DROP FUNCTION IF EXISTS kopilka_ean13_ok(text);
DROP FUNCTION IF EXISTS kopilka_ua_phone(text);
"""


ACTIONS = ("read", "create", "update", "delete", "approve", "export")
GRANTS = {"admin": [{"object_type": "imports", "action": a, "scope": "all"} for a in ACTIONS],
          "integrator": [{"object_type": "imports", "action": "create", "scope": "all"}]}


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
    for role, grants in GRANTS.items():
        op.get_bind().execute(sa.text(
            "UPDATE roles SET grants = grants || CAST(:g AS jsonb) WHERE name = :name"),
            {"g": json.dumps(grants), "name": role})
    for statement in FUNCTIONS.split("$$;\n")[:-1]:  # one command per execute
        op.execute(statement + "$$;")


def downgrade() -> None:
    op.execute(ORIGINAL)
    op.execute("UPDATE roles SET grants = (SELECT coalesce(jsonb_agg(g), '[]'::jsonb) FROM "
               "jsonb_array_elements(grants) g WHERE g->>'object_type' <> 'imports')")
    for statement in DROP_FUNCTIONS.strip().splitlines():
        op.execute(statement)
    for name in ("suppliers", "brands", "product_groups", "import_records", "import_batches"):
        op.drop_table(name)
