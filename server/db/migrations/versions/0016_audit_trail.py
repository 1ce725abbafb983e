"""Audit trail (append-only, hash-chained) and manual money requests (four eyes).

- audit_log: one row per change by any principal, written in the change's transaction by
  kopilka_audit_append(), which takes a transaction advisory lock so concurrent writers
  chain in id order: hash = sha256(previous row's hash || canonical row text), where the
  canonical text is kopilka_audit_canonical() (a jsonb array: id, time in microseconds,
  principal, key id, request id, object type and id, action, before, after). A trigger
  refuses UPDATE, DELETE and TRUNCATE; `kopilka audit verify` recomputes the chain.
- manual_adjustments: every AdjustPoints / TopUpCashAccount request with its reason code,
  state (pending, applied, rejected) and who decided; daily caps sum it per key.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

# pg_advisory_xact_lock key of the chain's tail; "kaudit" in ASCII.
AUDIT_LOCK = 0x6B6175646974

FUNCTIONS = f"""
CREATE FUNCTION kopilka_audit_canonical(
  p_id bigint, p_at timestamptz, p_principal text, p_key uuid, p_request text, p_type text,
  p_object text, p_action text, p_before jsonb, p_after jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_array(p_id, (extract(epoch FROM p_at) * 1000000)::bigint, p_principal,
                           p_key::text, p_request, p_type, p_object, p_action, p_before,
                           p_after)::text
$$;

CREATE FUNCTION kopilka_audit_digest(p_prev bytea, p_canonical text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce(p_prev, '\\x'::bytea) || convert_to(p_canonical, 'UTF8'))
$$;

CREATE FUNCTION kopilka_audit_append(
  p_principal text, p_key uuid, p_request text, p_type text, p_object text, p_action text,
  p_before jsonb, p_after jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_prev bytea;
  v_id bigint;
  v_at timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock({AUDIT_LOCK});
  SELECT hash INTO v_prev FROM audit_log ORDER BY id DESC LIMIT 1;
  v_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
  v_at := clock_timestamp();
  INSERT INTO audit_log (id, created_at, principal, key_id, request_id, object_type,
                         object_id, action, before, after, hash)
  VALUES (v_id, v_at, p_principal, p_key, p_request, p_type, p_object, p_action, p_before,
          p_after, kopilka_audit_digest(v_prev, kopilka_audit_canonical(
            v_id, v_at, p_principal, p_key, p_request, p_type, p_object, p_action, p_before,
            p_after)));
  RETURN v_id;
END
$$;

CREATE FUNCTION kopilka_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'KL010';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION kopilka_audit_refuse();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION kopilka_audit_refuse();
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("key_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("before", postgresql.JSONB(), nullable=True),
        sa.Column("after", postgresql.JSONB(), nullable=True),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id", "id"])
    op.create_index("ix_audit_log_principal", "audit_log", ["principal", "id"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_table(
        "manual_adjustments",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("card_number", sa.String(length=64), nullable=False),
        sa.Column("member_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_key", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_key", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("tx_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.CheckConstraint("kind IN ('points', 'cash')", name=op.f("ck_manual_adjustments_kind")),
        sa.CheckConstraint("state IN ('pending', 'applied', 'rejected')",
                           name=op.f("ck_manual_adjustments_state")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_manual_adjustments_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_adjustments")),
    )
    op.create_index("ix_manual_adjustments_key_day", "manual_adjustments",
                    ["requested_key", "kind", "created_at"])
    op.create_index("ix_manual_adjustments_state", "manual_adjustments",
                    ["state", "created_at", "id"])
    for statement in FUNCTIONS.split(";\n\n"):  # one command per prepared statement
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE audit_log")
    for name in ("append(text, uuid, text, text, text, text, jsonb, jsonb)",
                 "digest(bytea, text)",
                 "canonical(bigint, timestamptz, text, uuid, text, text, text, text, jsonb, "
                 "jsonb)", "refuse()"):
        op.execute(f"DROP FUNCTION kopilka_audit_{name}")
    op.drop_table("manual_adjustments")
