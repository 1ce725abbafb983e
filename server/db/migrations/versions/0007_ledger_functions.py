"""Ledger hot paths as PL/pgSQL functions: RedeemBonus and a ConfirmReceipt that spends nothing.

Why: the server sends each operation as ONE `SELECT fn(...)` in autocommit, so a call costs one
round trip instead of BEGIN, statements, COMMIT. The function body is one transaction; a
VOLATILE function takes a fresh snapshot per statement, so spending lots after the locked
account update sees every lot committed before that lock was granted.

The stored answer is the protobuf the server would send. The server precomputes it without
the points balance (which only the function knows) as `head` and `tail`: the fields numbered
below and above the balance field, each serialized deterministically. The function appends
the balance field between them (`kopilka_pb_uint_field`), which is byte for byte the
deterministic serialization of the whole answer. It stores those bytes with the claim and
returns them: the first call and every retry answer the same bytes.

Refusals raise (so the claim rolls back with everything else) with SQLSTATEs the server maps
(server/db/ledger_fast.py): KL001 nothing redeemed (card, verification or balance: the server
says which), KL002 request id reused for other content, KL003 receipt number taken.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None

# A protobuf varint field (wire type 0) of a non-negative value; empty for 0, as proto3 omits
# default values.
PB_UINT_FIELD = r"""
CREATE FUNCTION kopilka_pb_uint_field(field_number integer, value bigint) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  v_out bytea := ''::bytea;
  v bigint;
BEGIN
  IF value = 0 THEN
    RETURN v_out;
  END IF;
  IF value < 0 OR field_number < 1 THEN
    RAISE EXCEPTION 'kopilka_pb_uint_field(%, %): out of range', field_number, value;
  END IF;
  FOREACH v IN ARRAY ARRAY[field_number::bigint << 3, value] LOOP
    WHILE v >= 128 LOOP
      v_out := v_out || set_byte('\x00'::bytea, 0, ((v & 127) | 128)::integer);
      v := v >> 7;
    END LOOP;
    v_out := v_out || set_byte('\x00'::bytea, 0, v::integer);
  END LOOP;
  RETURN v_out;
END $$"""

# The answer stored under a request id that was claimed already; KL002 when the id came with
# another method or request content.
PRIOR_ANSWER = r"""
CREATE FUNCTION kopilka_prior_answer(p_request_id uuid, p_method text, p_request_hash bytea)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  v_method text;
  v_hash bytea;
  v_response bytea;
BEGIN
  SELECT method, request_hash, response INTO v_method, v_hash, v_response
    FROM idempotency_records WHERE request_id = p_request_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'idempotency record % vanished', p_request_id;
  END IF;
  IF v_method <> p_method OR v_hash <> p_request_hash THEN
    RAISE EXCEPTION 'request_id was already used for a different request'
      USING ERRCODE = 'KL002';
  END IF;
  RETURN coalesce(v_response, ''::bytea);
END $$"""

# RedeemBonus: claim, debit the card member's points (never below zero), spend lots
# oldest-expiring first, store the answer.
REDEEM_POINTS = r"""
CREATE FUNCTION kopilka_redeem_points(
  p_request_id uuid, p_method text, p_request_hash bytea, p_card text, p_points bigint,
  p_tx_id uuid, p_reason text, p_principal text, p_verified boolean,
  p_answer_head bytea, p_balance_field integer, p_answer_tail bytea)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  v_member uuid;
  v_account bigint;
  v_balance bigint;
  v_taken bigint;
  v_answer bytea;
BEGIN
  INSERT INTO idempotency_records (request_id, method, request_hash)
  VALUES (p_request_id, p_method, p_request_hash) ON CONFLICT (request_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN kopilka_prior_answer(p_request_id, p_method, p_request_hash);
  END IF;
  SELECT c.member_id INTO v_member FROM cards c JOIN card_types t ON t.code = c.card_type
   WHERE c.number = p_card AND c.state = 'active' AND c.member_id IS NOT NULL
     AND (p_verified OR NOT t.requires_verification);
  IF v_member IS NOT NULL THEN
    -- re-checked on the newest row version after the row lock: never overdrawn
    UPDATE ledger_accounts SET balance = balance - p_points
     WHERE member_id = v_member AND kind = 'points' AND balance >= p_points
     RETURNING id, balance INTO v_account, v_balance;
  END IF;
  IF v_balance IS NULL THEN
    RAISE EXCEPTION 'no points redeemed' USING ERRCODE = 'KL001';
  END IF;
  INSERT INTO ledger_transactions (id, kind, reason, principal)
  VALUES (p_tx_id, 'redeem', p_reason, p_principal);
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
  UPDATE idempotency_records SET response = v_answer WHERE request_id = p_request_id;
  RETURN v_answer;
END $$"""

# ConfirmReceipt that spends nothing (no points, cash account or certificate): claim, the
# receipt, its accrual (lots active when already activated, else pending), the member's first
# promotional purchases, the stored answer. A known receipt number answers with its first
# confirmation's answer (KL003 when it has none: another receipt holds the number).
CONFIRM_RECEIPT = r"""
CREATE FUNCTION kopilka_confirm_receipt(
  p_request_id uuid, p_method text, p_request_hash bytea,
  p_receipt_id uuid, p_store text, p_terminal text, p_number text, p_member uuid, p_card text,
  p_currency text, p_subtotal bigint, p_discount bigint, p_total bigint, p_tx_id uuid,
  p_lines jsonb, p_payments jsonb, p_accrued bigint, p_redeemed bigint, p_principal text,
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
  INSERT INTO idempotency_records (request_id, method, request_hash)
  VALUES (p_request_id, p_method, p_request_hash) ON CONFLICT (request_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN kopilka_prior_answer(p_request_id, p_method, p_request_hash);
  END IF;
  INSERT INTO receipts (id, store_code, terminal_id, receipt_number, member_id, card_number,
                        state, currency, subtotal_minor, discount_total_minor, total_minor)
  VALUES (p_receipt_id, p_store, p_terminal, p_number, p_member, p_card, 'confirmed',
          p_currency, p_subtotal, p_discount, p_total)
  ON CONFLICT ON CONSTRAINT uq_receipt_number DO NOTHING;
  IF NOT FOUND THEN
    SELECT i.response INTO v_answer FROM receipts r
      JOIN receipt_details d ON d.receipt_id = r.id
      JOIN idempotency_records i ON i.request_id = d.request_id
     WHERE r.store_code = p_store AND r.terminal_id = p_terminal AND r.receipt_number = p_number;
    IF v_answer IS NULL THEN
      RAISE EXCEPTION 'this receipt number is already used by another receipt'
        USING ERRCODE = 'KL003';
    END IF;
    UPDATE idempotency_records SET response = v_answer WHERE request_id = p_request_id;
    RETURN v_answer;
  END IF;
  INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, points_accrued,
                               points_redeemed)
  VALUES (p_receipt_id, p_request_id, p_tx_id, p_lines, p_payments, p_accrued, p_redeemed);
  INSERT INTO ledger_transactions (id, kind, receipt_id, principal)
  VALUES (p_tx_id, 'receipt', p_receipt_id, p_principal);
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
  UPDATE idempotency_records SET response = v_answer WHERE request_id = p_request_id;
  RETURN v_answer;
END $$"""

DROPS = (
    "DROP FUNCTION kopilka_confirm_receipt(uuid, text, bytea, uuid, text, text, text, uuid, "
    "text, text, bigint, bigint, bigint, uuid, jsonb, jsonb, bigint, bigint, text, bigint, "
    "bigint, timestamptz, text[], bigint[], timestamptz[], timestamptz[], text[], timestamptz, "
    "bytea, integer, bytea)",
    "DROP FUNCTION kopilka_redeem_points(uuid, text, bytea, text, bigint, uuid, text, text, "
    "boolean, bytea, integer, bytea)",
    "DROP FUNCTION kopilka_prior_answer(uuid, text, bytea)",
    "DROP FUNCTION kopilka_pb_uint_field(integer, bigint)",
)


def upgrade() -> None:
    for sql in (PB_UINT_FIELD, PRIOR_ANSWER, REDEEM_POINTS, CONFIRM_RECEIPT):
        op.execute(sql)


def downgrade() -> None:
    for sql in DROPS:
        op.execute(sql)
