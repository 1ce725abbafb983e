"""Trust at the edges of the ledger: answers per caller, receipts booked once, lots expire on use.

- Idempotency is per principal: the key of a stored answer is (the caller's API key id,
  request_id), so another key replaying a request id runs its own request and never sees the
  first caller's answer. Rows from before keep the nil key id.
- A receipt remembers who booked it (principal_id), a digest of its content (the request
  without request_id and verification token) and the calculation it came from. A taken
  receipt number answers with the first receipt's answer only for the same content from the
  same key; a calculation is booked at most once (unique calculation_id).
- `kopilka_book_receipt` is the one place a receipt row is written, for the hot path
  (`kopilka_confirm_receipt`) and the general path (server/db/ledger/refunds.py) alike.
- The four branches (certificates 0004, rule sets 0006, ledger functions 0007, outbox 0008)
  merge here, and the history is one line from here on. 0007's functions write 0006's
  member_promotion_uses; every database reaches them together through this merge (an Alembic
  `depends_on` from 0007 to 0006 next to this merge trips Alembic's head bookkeeping).
- `kopilka_expire_lots` expires a member's lots whose time has passed, with their ledger
  entries; every spend and the expiry job call it, so an expired lot is never spendable,
  whether or not the job has run.

Revision ID: 0009
Revises: 0004, 0006, 0007, 0008
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = ("0004", "0006", "0007", "0008")
branch_labels = None
depends_on = None

NIL = "00000000-0000-0000-0000-000000000000"

# The stored answer of a request id this caller used already; KL002 for other content.
PRIOR_ANSWER = r"""
CREATE FUNCTION kopilka_prior_answer(p_principal uuid, p_request_id uuid, p_method text,
                                     p_request_hash bytea)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  v_method text;
  v_hash bytea;
  v_response bytea;
BEGIN
  SELECT method, request_hash, response INTO v_method, v_hash, v_response
    FROM idempotency_records WHERE principal_id = p_principal AND request_id = p_request_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'idempotency record % vanished', p_request_id;
  END IF;
  IF v_method <> p_method OR v_hash <> p_request_hash THEN
    RAISE EXCEPTION 'request_id was already used for a different request'
      USING ERRCODE = 'KL002';
  END IF;
  RETURN coalesce(v_response, ''::bytea);
END $$"""

# Expire member p_member's active lots whose expiry time is at or before p_now: lots to
# 'expired', their points off the points account, one 'expire' ledger transaction. Locks the
# points account first (lock order), and only when there is something to expire, so the usual
# call is one index probe. Returns the number of lots expired.
EXPIRE_LOTS = r"""
CREATE FUNCTION kopilka_expire_lots(p_member uuid, p_now timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_lots integer;
BEGIN
  PERFORM 1 FROM point_lots
   WHERE member_id = p_member AND state = 'active' AND expiry_at <= p_now LIMIT 1;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  PERFORM 1 FROM ledger_accounts WHERE member_id = p_member AND kind = 'points' FOR UPDATE;
  -- a statement of its own: it sees lots as they are after the lock (another call may have
  -- expired them meanwhile)
  WITH t AS (SELECT gen_random_uuid() AS id),
  o AS (SELECT id, points_left FROM point_lots
         WHERE member_id = p_member AND state = 'active' AND expiry_at <= p_now),
  x AS (UPDATE point_lots l SET state = 'expired', points_left = 0 FROM o WHERE l.id = o.id
        RETURNING l.id, o.points_left AS old),
  tx AS (INSERT INTO ledger_transactions (id, kind, reason, principal)
         SELECT t.id, 'expire', 'expired', '' FROM t WHERE EXISTS (SELECT 1 FROM x)),
  m AS (INSERT INTO lot_movements (tx_id, lot_id, points)
        SELECT t.id, x.id, -x.old FROM x, t WHERE x.old > 0),
  s AS (SELECT sum(old)::bigint AS pts FROM x HAVING sum(old) > 0),
  a AS (UPDATE ledger_accounts la SET balance = la.balance - s.pts FROM s
        WHERE la.member_id = p_member AND la.kind = 'points' RETURNING la.id, s.pts),
  e AS (INSERT INTO ledger_entries (tx_id, account_id, amount)
        SELECT t.id, a.id, -a.pts FROM a, t)
  SELECT count(*) INTO v_lots FROM x;
  RETURN v_lots;
END $$"""

# Write a receipt: its row, its details, its ledger transaction. Returns NULL when booked;
# the first receipt's stored answer when the number is taken by the same content from the same
# key (a retry under a new request id). Raises KL003 when the number is taken by other content
# or another key, KL004 when the calculation was booked already, with "principal receipt-id
# number" of the first receipt as the error's detail (nothing written either way).
BOOK_RECEIPT = r"""
CREATE FUNCTION kopilka_book_receipt(
  p_principal uuid, p_request_id uuid, p_receipt_id uuid, p_store text, p_terminal text,
  p_number text, p_member uuid, p_card text, p_currency text, p_subtotal bigint,
  p_discount bigint, p_total bigint, p_tx_id uuid, p_lines jsonb, p_payments jsonb,
  p_accrued bigint, p_redeemed bigint, p_principal_label text, p_content_hash bytea,
  p_calculation_id uuid)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  v_answer bytea;
  v_first text;
BEGIN
  INSERT INTO receipts (id, store_code, terminal_id, receipt_number, member_id, card_number,
                        state, currency, subtotal_minor, discount_total_minor, total_minor)
  VALUES (p_receipt_id, p_store, p_terminal, p_number, p_member, p_card, 'confirmed',
          p_currency, p_subtotal, p_discount, p_total)
  ON CONFLICT ON CONSTRAINT uq_receipt_number DO NOTHING;
  IF NOT FOUND THEN
    SELECT i.response INTO v_answer FROM receipts r
      JOIN receipt_details d ON d.receipt_id = r.id
      JOIN idempotency_records i
        ON i.principal_id = d.principal_id AND i.request_id = d.request_id
     WHERE r.store_code = p_store AND r.terminal_id = p_terminal AND r.receipt_number = p_number
       AND d.principal_id = p_principal AND d.content_hash = p_content_hash;
    IF v_answer IS NULL THEN
      RAISE EXCEPTION 'this receipt number is already used by another receipt'
        USING ERRCODE = 'KL003';
    END IF;
    RETURN v_answer;
  END IF;
  INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, points_accrued,
                               points_redeemed, principal_id, content_hash, calculation_id)
  VALUES (p_receipt_id, p_request_id, p_tx_id, p_lines, p_payments, p_accrued, p_redeemed,
          p_principal, p_content_hash, p_calculation_id)
  ON CONFLICT (calculation_id) DO NOTHING;
  IF NOT FOUND THEN
    SELECT d.principal_id || ' ' || r.id || ' ' || r.receipt_number INTO v_first
      FROM receipt_details d JOIN receipts r ON r.id = d.receipt_id
     WHERE d.calculation_id = p_calculation_id;
    RAISE EXCEPTION 'this calculation is confirmed already'
      USING ERRCODE = 'KL004', DETAIL = coalesce(v_first, '');
  END IF;
  INSERT INTO ledger_transactions (id, kind, receipt_id, principal)
  VALUES (p_tx_id, 'receipt', p_receipt_id, p_principal_label);
  RETURN NULL;
END $$"""

# RedeemBonus: claim (per caller), expire what is due, debit the card member's points (never
# below zero), spend lots oldest-expiring first, store the answer.
REDEEM_POINTS = r"""
CREATE FUNCTION kopilka_redeem_points(
  p_principal uuid, p_request_id uuid, p_method text, p_request_hash bytea, p_card text,
  p_points bigint, p_tx_id uuid, p_reason text, p_principal_label text, p_verified boolean,
  p_answer_head bytea, p_balance_field integer, p_answer_tail bytea)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  v_member uuid;
  v_account bigint;
  v_balance bigint;
  v_taken bigint;
  v_answer bytea;
BEGIN
  INSERT INTO idempotency_records (principal_id, request_id, method, request_hash)
  VALUES (p_principal, p_request_id, p_method, p_request_hash)
  ON CONFLICT (principal_id, request_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN kopilka_prior_answer(p_principal, p_request_id, p_method, p_request_hash);
  END IF;
  SELECT c.member_id INTO v_member FROM cards c JOIN card_types t ON t.code = c.card_type
   WHERE c.number = p_card AND c.state = 'active' AND c.member_id IS NOT NULL
     AND (p_verified OR NOT t.requires_verification);
  IF v_member IS NOT NULL THEN
    PERFORM kopilka_expire_lots(v_member, now());
    -- re-checked on the newest row version after the row lock: never overdrawn
    UPDATE ledger_accounts SET balance = balance - p_points
     WHERE member_id = v_member AND kind = 'points' AND balance >= p_points
     RETURNING id, balance INTO v_account, v_balance;
  END IF;
  IF v_balance IS NULL THEN
    RAISE EXCEPTION 'no points redeemed' USING ERRCODE = 'KL001';
  END IF;
  INSERT INTO ledger_transactions (id, kind, reason, principal)
  VALUES (p_tx_id, 'redeem', p_reason, p_principal_label);
  INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES (p_tx_id, v_account, -p_points);
  -- a statement of its own: its snapshot is taken after the account row was locked
  WITH pick AS (
    SELECT id, LEAST(points_left, p_points - (cum - points_left)) AS take FROM (
      SELECT id, points_left,
             sum(points_left) OVER (ORDER BY expiry_at ASC NULLS LAST, activation_at, id)::bigint
               AS cum
      FROM point_lots WHERE member_id = v_member AND state = 'active' AND points_left > 0) s
    WHERE cum - points_left < p_points),
  u AS (
    UPDATE point_lots l SET points_left = l.points_left - p.take FROM pick p WHERE l.id = p.id
    RETURNING l.id, p.take),
  m AS (INSERT INTO lot_movements (tx_id, lot_id, points) SELECT p_tx_id, id, -take FROM u)
  SELECT coalesce(sum(take), 0)::bigint INTO v_taken FROM u;
  IF v_taken <> p_points THEN  -- the balance cache and the lots disagree: never commit that
    RAISE EXCEPTION 'lots of member % hold % of % points', v_member, v_taken, p_points;
  END IF;
  v_answer := p_answer_head || kopilka_pb_uint_field(p_balance_field, v_balance)
              || p_answer_tail;
  UPDATE idempotency_records SET response = v_answer
   WHERE principal_id = p_principal AND request_id = p_request_id;
  RETURN v_answer;
END $$"""

# ConfirmReceipt that spends nothing (no points, cash account or certificate): claim, the
# receipt (kopilka_book_receipt), lots due to expire, its accrual (lots active when already
# activated, else pending), the member's first promotional purchases, the stored answer.
CONFIRM_RECEIPT = r"""
CREATE FUNCTION kopilka_confirm_receipt(
  p_principal uuid, p_request_id uuid, p_method text, p_request_hash bytea,
  p_receipt_id uuid, p_store text, p_terminal text, p_number text, p_member uuid, p_card text,
  p_currency text, p_subtotal bigint, p_discount bigint, p_total bigint, p_tx_id uuid,
  p_lines jsonb, p_payments jsonb, p_accrued bigint, p_redeemed bigint,
  p_principal_label text, p_content_hash bytea, p_calculation_id uuid,
  p_active bigint, p_pending bigint, p_now timestamptz, p_rule_ids text[],
  p_lot_points bigint[], p_activations timestamptz[], p_expiries timestamptz[],
  p_promotions text[], p_receipt_time timestamptz,
  p_answer_head bytea, p_balance_field integer, p_answer_tail bytea)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  v_account bigint;
  v_balance bigint;
  v_answer bytea;
BEGIN
  INSERT INTO idempotency_records (principal_id, request_id, method, request_hash)
  VALUES (p_principal, p_request_id, p_method, p_request_hash)
  ON CONFLICT (principal_id, request_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN kopilka_prior_answer(p_principal, p_request_id, p_method, p_request_hash);
  END IF;
  v_answer := kopilka_book_receipt(
    p_principal, p_request_id, p_receipt_id, p_store, p_terminal, p_number, p_member, p_card,
    p_currency, p_subtotal, p_discount, p_total, p_tx_id, p_lines, p_payments, p_accrued,
    p_redeemed, p_principal_label, p_content_hash, p_calculation_id);
  IF v_answer IS NOT NULL THEN  -- the same receipt again under a new request id
    UPDATE idempotency_records SET response = v_answer
     WHERE principal_id = p_principal AND request_id = p_request_id;
    RETURN v_answer;
  END IF;
  IF p_member IS NOT NULL THEN
    PERFORM kopilka_expire_lots(p_member, p_now);
  END IF;
  IF p_member IS NOT NULL AND cardinality(p_lot_points) > 0 THEN
    INSERT INTO ledger_accounts (member_id, kind, balance) VALUES (p_member, 'points', p_active)
    ON CONFLICT (member_id, kind)
      DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
    RETURNING id, balance INTO v_account, v_balance;
    IF p_active > 0 THEN
      INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES (p_tx_id, v_account, p_active);
    END IF;
    IF p_pending > 0 THEN
      INSERT INTO ledger_accounts (member_id, kind, balance)
      VALUES (p_member, 'points_pending', p_pending)
      ON CONFLICT (member_id, kind)
        DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
      RETURNING id INTO v_account;
      INSERT INTO ledger_entries (tx_id, account_id, amount)
      VALUES (p_tx_id, v_account, p_pending);
    END IF;
    WITH l AS (
      INSERT INTO point_lots (member_id, tx_id, receipt_id, rule_id, points_initial, points_left,
                              state, activation_at, expiry_at)
      SELECT p_member, p_tx_id, p_receipt_id, x.rule_id, x.points, x.points,
             CASE WHEN x.act <= p_now THEN 'active' ELSE 'pending' END, x.act, x.exp
      FROM unnest(p_rule_ids, p_lot_points, p_activations, p_expiries)
           AS x(rule_id, points, act, exp)
      RETURNING id, points_initial)
    INSERT INTO lot_movements (tx_id, lot_id, points) SELECT p_tx_id, id, points_initial FROM l;
  ELSIF p_member IS NOT NULL THEN
    SELECT balance INTO v_balance FROM ledger_accounts
     WHERE member_id = p_member AND kind = 'points';
  END IF;
  IF p_member IS NOT NULL AND cardinality(p_promotions) > 0 THEN
    -- the first promotional purchase, dated in the store's local time zone
    INSERT INTO member_promotion_uses (member_id, promotion_id, first_date)
    SELECT p_member, promo, (SELECT (p_receipt_time AT TIME ZONE s.time_zone)::date
                               FROM stores s WHERE s.code = p_store)
      FROM unnest(p_promotions) AS promo
    ON CONFLICT DO NOTHING;
  END IF;
  v_answer := p_answer_head || kopilka_pb_uint_field(p_balance_field, coalesce(v_balance, 0))
              || p_answer_tail;
  UPDATE idempotency_records SET response = v_answer
   WHERE principal_id = p_principal AND request_id = p_request_id;
  RETURN v_answer;
END $$"""

OLD_FUNCTIONS = (
    "DROP FUNCTION kopilka_confirm_receipt(uuid, text, bytea, uuid, text, text, text, uuid, "
    "text, text, bigint, bigint, bigint, uuid, jsonb, jsonb, bigint, bigint, text, bigint, "
    "bigint, timestamptz, text[], bigint[], timestamptz[], timestamptz[], text[], timestamptz, "
    "bytea, integer, bytea)",
    "DROP FUNCTION kopilka_redeem_points(uuid, text, bytea, text, bigint, uuid, text, text, "
    "boolean, bytea, integer, bytea)",
    "DROP FUNCTION kopilka_prior_answer(uuid, text, bytea)",
)


def upgrade() -> None:
    for sql in OLD_FUNCTIONS:
        op.execute(sql)
    op.add_column("idempotency_records", sa.Column(
        "principal_id", sa.UUID(), server_default=sa.text(f"'{NIL}'::uuid"), nullable=False))
    op.drop_constraint("pk_idempotency_records", "idempotency_records", type_="primary")
    op.create_primary_key("pk_idempotency_records", "idempotency_records",
                          ["principal_id", "request_id"])
    op.add_column("receipt_details", sa.Column(
        "principal_id", sa.UUID(), server_default=sa.text(f"'{NIL}'::uuid"), nullable=False))
    op.add_column("receipt_details", sa.Column("content_hash", sa.LargeBinary(), nullable=True))
    op.add_column("receipt_details", sa.Column("calculation_id", sa.UUID(), nullable=True))
    op.create_index("uq_receipt_details_calculation", "receipt_details", ["calculation_id"],
                    unique=True)
    for sql in (PRIOR_ANSWER, EXPIRE_LOTS, BOOK_RECEIPT, REDEEM_POINTS, CONFIRM_RECEIPT):
        op.execute(sql)


def _revision_0007() -> ModuleType:
    """Migration 0007's module, for its function texts (versions/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0007_ledger_functions.py")
    spec = importlib.util.spec_from_file_location("kopilka_migration_0007", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    """Back to one answer per request id: answers stored per caller are dropped but the first."""
    for sql in (
        "DROP FUNCTION kopilka_confirm_receipt(uuid, uuid, text, bytea, uuid, text, text, text, "
        "uuid, text, text, bigint, bigint, bigint, uuid, jsonb, jsonb, bigint, bigint, text, "
        "bytea, uuid, bigint, bigint, timestamptz, text[], bigint[], timestamptz[], "
        "timestamptz[], text[], timestamptz, bytea, integer, bytea)",
        "DROP FUNCTION kopilka_redeem_points(uuid, uuid, text, bytea, text, bigint, uuid, text, "
        "text, boolean, bytea, integer, bytea)",
        "DROP FUNCTION kopilka_book_receipt(uuid, uuid, uuid, text, text, text, uuid, text, text, "
        "bigint, bigint, bigint, uuid, jsonb, jsonb, bigint, bigint, text, bytea, uuid)",
        "DROP FUNCTION kopilka_expire_lots(uuid, timestamptz)",
        "DROP FUNCTION kopilka_prior_answer(uuid, uuid, text, bytea)",
        "DROP INDEX uq_receipt_details_calculation",
        "ALTER TABLE receipt_details DROP COLUMN calculation_id, DROP COLUMN content_hash, "
        "DROP COLUMN principal_id",
        "DELETE FROM idempotency_records a USING idempotency_records b "
        "WHERE a.request_id = b.request_id AND a.created_at > b.created_at",
        "ALTER TABLE idempotency_records DROP CONSTRAINT pk_idempotency_records",
        "ALTER TABLE idempotency_records DROP COLUMN principal_id",
        "ALTER TABLE idempotency_records ADD CONSTRAINT pk_idempotency_records "
        "PRIMARY KEY (request_id)",
    ):
        op.execute(sql)
    old = _revision_0007()
    for sql in (old.PRIOR_ANSWER, old.REDEEM_POINTS, old.CONFIRM_RECEIPT):
        op.execute(sql)
