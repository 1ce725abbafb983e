"""The audit trail in sixteen hash chains, so audited writes no longer wait on each other.

Before, kopilka_audit_append took one advisory lock for the whole trail and held it until the
writer's transaction ended: every audited change in the server (an order placed, points
adjusted, a key created) waited for the one before it to commit. Now each row belongs to one
of CHAINS chains (`audit_log.chain`); the append takes the first chain whose lock is free,
starting from one picked by the backend's pid, and keeps using it for the rest of its
transaction. Each chain still follows id order (its ids are taken under its lock), each row's
hash still covers the previous row of its own chain, and `kopilka audit verify` checks every
chain. The rows written before this migration are chain 0, unchanged, so they verify as before.

Revision ID: 0039
Revises: 0034
Create Date: 2026-12-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0034"
branch_labels = None
depends_on = None

# pg_advisory_xact_lock keys AUDIT_LOCK + 0 .. AUDIT_LOCK + CHAINS - 1; 0016's key is chain 0.
AUDIT_LOCK = 0x6B6175646974
CHAINS = 16

APPEND = f"""
CREATE OR REPLACE FUNCTION kopilka_audit_append(
  p_principal text, p_key uuid, p_request text, p_type text, p_object text, p_action text,
  p_before jsonb, p_after jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_chain int := nullif(current_setting('kopilka.audit_chain', true), '')::int;
  v_start int;
  v_prev bytea;
  v_id bigint;
  v_at timestamptz;
BEGIN
  IF v_chain IS NULL THEN
    -- the first row of this transaction: the first chain nobody else is writing
    v_start := pg_backend_pid() % {CHAINS};
    FOR i IN 0..{CHAINS - 1} LOOP
      IF pg_try_advisory_xact_lock({AUDIT_LOCK} + (v_start + i) % {CHAINS}) THEN
        v_chain := (v_start + i) % {CHAINS};
        EXIT;
      END IF;
    END LOOP;
    IF v_chain IS NULL THEN  -- all busy: wait for this backend's own
      v_chain := v_start;
      PERFORM pg_advisory_xact_lock({AUDIT_LOCK} + v_chain);
    END IF;
    PERFORM set_config('kopilka.audit_chain', v_chain::text, true);  -- until the commit
  ELSE
    PERFORM pg_advisory_xact_lock({AUDIT_LOCK} + v_chain);  -- held already: returns at once
  END IF;
  SELECT hash INTO v_prev FROM audit_log WHERE chain = v_chain ORDER BY id DESC LIMIT 1;
  v_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
  v_at := clock_timestamp();
  INSERT INTO audit_log (id, created_at, principal, key_id, request_id, object_type,
                         object_id, action, before, after, hash, chain)
  VALUES (v_id, v_at, p_principal, p_key, p_request, p_type, p_object, p_action, p_before,
          p_after, kopilka_audit_digest(v_prev, kopilka_audit_canonical(
            v_id, v_at, p_principal, p_key, p_request, p_type, p_object, p_action, p_before,
            p_after)), v_chain);
  RETURN v_id;
END
$$
"""

ONE_CHAIN = f"""
CREATE OR REPLACE FUNCTION kopilka_audit_append(
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
$$
"""


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("chain", sa.SmallInteger(), nullable=False,
                                         server_default="0"))
    op.create_check_constraint("chain", "audit_log", f"chain >= 0 AND chain < {CHAINS}")
    op.create_index("ix_audit_log_chain", "audit_log", ["chain", "id"])
    op.execute(APPEND)


def downgrade() -> None:
    op.execute(ONE_CHAIN)
    op.drop_index("ix_audit_log_chain", table_name="audit_log")
    op.drop_constraint("chain", "audit_log", type_="check")
    op.drop_column("audit_log", "chain")
