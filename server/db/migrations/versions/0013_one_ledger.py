"""One ledger: every points, cash and certificate movement through one set of SQL functions.

Before, lot spending and accrual existed twice (Python-side statements and the hot-path
PL/pgSQL of 0007/0009), ConfirmReceipt had three persistence paths, and the functions
assembled protobuf answers from 31 positional parameters. Now:

- The primitives, each the only implementation of its rule, called by the two operations
  below and by every other path (adjustments, conversions, refunds, jobs) alike:
  `kopilka_spend_points` (expire what is due, debit, lots oldest-expiring first),
  `kopilka_accrue_points` (lots active or pending, both balances), `kopilka_pay_cash` (own or
  master account), `kopilka_spend_certificate` (conditional spend, the forfeit policy).
- `kopilka_confirm_receipt(claim, receipt jsonb, token, now)` books any receipt, whatever it
  spends, in one call; `kopilka_redeem_points` spends points in one call. Both claim the
  request id first, then check the verification token's use, and store and return their result
  as values (jsonb); the server builds the answer from them. A refusal raises a KLnnn SQLSTATE
  (nothing written, the claim included) with what the server needs to say why in its detail.
- Receipt lines are stored with named fields (they were positional arrays).

SQLSTATEs: KL001 points short (detail: spendable points), KL002 request id reused, KL003
receipt number taken, KL004 calculation booked (detail: principal, receipt id, number), KL005
certificate refused (detail: its number), KL006 verification required, KL007 verification token
used, KL008 card cannot spend (detail: missing, unassigned or its state), KL009 cash short
(detail: the balance).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# What a stored answer is to the ledger: its result values, or (for a call answered before
# this migration) the protobuf bytes, base64 encoded, for the server to decode as they were.
STORED_RESULT = r"""
CREATE FUNCTION kopilka_stored_result(p_result jsonb, p_response bytea) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(p_result, jsonb_build_object('legacy_response',
                                               encode(coalesce(p_response, ''), 'base64')))
$$"""

# Claim the caller's request id: NULL when claimed now, else the first call's stored result;
# KL002 when the id came before with another method or content.
CLAIM = r"""
CREATE FUNCTION kopilka_ledger_claim(p_principal uuid, p_request_id uuid, p_method text,
                                     p_request_hash bytea)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_method text;
  v_hash bytea;
  v_result jsonb;
  v_response bytea;
BEGIN
  INSERT INTO idempotency_records (principal_id, request_id, method, request_hash)
  VALUES (p_principal, p_request_id, p_method, p_request_hash)
  ON CONFLICT (principal_id, request_id) DO NOTHING;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  SELECT method, request_hash, result, response INTO v_method, v_hash, v_result, v_response
    FROM idempotency_records WHERE principal_id = p_principal AND request_id = p_request_id;
  IF v_method <> p_method OR v_hash <> p_request_hash THEN
    RAISE EXCEPTION 'request_id was already used for a different request'
      USING ERRCODE = 'KL002';
  END IF;
  RETURN kopilka_stored_result(v_result, v_response);
END $$"""

STORE_RESULT = r"""
CREATE FUNCTION kopilka_ledger_store(p_principal uuid, p_request_id uuid, p_result jsonb)
RETURNS jsonb LANGUAGE sql AS $$
  UPDATE idempotency_records SET result = p_result
   WHERE principal_id = p_principal AND request_id = p_request_id
  RETURNING result
$$"""

# The points member p_member may spend at p_now: the balance less lots past their expiry
# that no job has expired yet.
SPENDABLE = r"""
CREATE FUNCTION kopilka_spendable_points(p_member uuid, p_now timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT balance FROM ledger_accounts
                    WHERE member_id = p_member AND kind = 'points'), 0)
       - coalesce((SELECT sum(points_left) FROM point_lots
                    WHERE member_id = p_member AND state = 'active' AND expiry_at <= p_now), 0)
$$"""

# Spend p_points of p_member under ledger transaction p_tx: expire what is due, debit the
# points account (never below zero: re-checked on the newest row version after the lock),
# take the points from active lots oldest-expiring first. The new balance, or NULL when the
# member has fewer points (then nothing but the due expiry is written).
SPEND_POINTS = r"""
CREATE FUNCTION kopilka_spend_points(p_member uuid, p_points bigint, p_tx uuid,
                                     p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_account bigint;
  v_balance bigint;
  v_taken bigint;
BEGIN
  PERFORM kopilka_expire_lots(p_member, p_now);
  UPDATE ledger_accounts SET balance = balance - p_points
   WHERE member_id = p_member AND kind = 'points' AND balance >= p_points
   RETURNING id, balance INTO v_account, v_balance;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES (p_tx, v_account, -p_points);
  -- a statement of its own: its snapshot is taken after the account row was locked
  WITH pick AS (
    SELECT id, LEAST(points_left, p_points - (cum - points_left)) AS take FROM (
      SELECT id, points_left,
             sum(points_left) OVER (ORDER BY expiry_at ASC NULLS LAST, activation_at, id)::bigint
               AS cum
      FROM point_lots WHERE member_id = p_member AND state = 'active' AND points_left > 0) s
    WHERE cum - points_left < p_points),
  u AS (
    UPDATE point_lots l SET points_left = l.points_left - p.take FROM pick p WHERE l.id = p.id
    RETURNING l.id, p.take),
  m AS (INSERT INTO lot_movements (tx_id, lot_id, points) SELECT p_tx, id, -take FROM u)
  SELECT coalesce(sum(take), 0)::bigint INTO v_taken FROM u;
  IF v_taken <> p_points THEN  -- the balance cache and the lots disagree: never commit that
    RAISE EXCEPTION 'lots of member % hold % of % points', p_member, v_taken, p_points;
  END IF;
  RETURN v_balance;
END $$"""

# Credit p_member with lots (arrays of rule id, points, activation, expiry) under p_tx: lots
# already activated at p_now are active and go to the points account, later ones are pending.
# Returns the points balance after.
ACCRUE_POINTS = r"""
CREATE FUNCTION kopilka_accrue_points(p_member uuid, p_tx uuid, p_receipt uuid,
                                      p_now timestamptz, p_rule_ids text[], p_points bigint[],
                                      p_activations timestamptz[], p_expiries timestamptz[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_active bigint;
  v_pending bigint;
  v_account bigint;
  v_balance bigint;
BEGIN
  SELECT coalesce(sum(x.points) FILTER (WHERE x.act <= p_now), 0),
         coalesce(sum(x.points) FILTER (WHERE x.act > p_now), 0)
    INTO v_active, v_pending
    FROM unnest(p_points, p_activations) AS x(points, act);
  INSERT INTO ledger_accounts (member_id, kind, balance) VALUES (p_member, 'points', v_active)
  ON CONFLICT (member_id, kind) DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
  RETURNING id, balance INTO v_account, v_balance;
  IF v_active > 0 THEN
    INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES (p_tx, v_account, v_active);
  END IF;
  IF v_pending > 0 THEN
    INSERT INTO ledger_accounts (member_id, kind, balance)
    VALUES (p_member, 'points_pending', v_pending)
    ON CONFLICT (member_id, kind)
      DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
    RETURNING id INTO v_account;
    INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES (p_tx, v_account, v_pending);
  END IF;
  WITH l AS (
    INSERT INTO point_lots (member_id, tx_id, receipt_id, rule_id, points_initial, points_left,
                            state, activation_at, expiry_at)
    SELECT p_member, p_tx, p_receipt, x.rule_id, x.points, x.points,
           CASE WHEN x.act <= p_now THEN 'active' ELSE 'pending' END, x.act, x.exp
      FROM unnest(p_rule_ids, p_points, p_activations, p_expiries) AS x(rule_id, points, act, exp)
     WHERE x.points > 0
    RETURNING id, points_initial)
  INSERT INTO lot_movements (tx_id, lot_id, points) SELECT p_tx, id, points_initial FROM l;
  RETURN v_balance;
END $$"""

# Pay p_amount from p_member's cash (its master account when pooled) under p_tx: the new
# balance, or NULL when short (nothing written).
PAY_CASH = r"""
CREATE FUNCTION kopilka_pay_cash(p_member uuid, p_amount bigint, p_tx uuid)
RETURNS bigint LANGUAGE sql AS $$
  WITH a AS (
    UPDATE ledger_accounts SET balance = balance - p_amount
     WHERE id = (SELECT coalesce(master_id, id) FROM ledger_accounts
                  WHERE member_id = p_member AND kind = 'cash') AND balance >= p_amount
    RETURNING id, balance),
  e AS (INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT p_tx, id, -p_amount FROM a)
  SELECT balance FROM a
$$"""

# Spend p_amount of certificate p_number (of kind p_kind; currency p_currency unless NULL) for a
# receipt: one conditional UPDATE, so at most the balance is ever spent however many race. With
# the type's 'forfeit' remainder policy the rest is written off by its own entry. The balance
# left, or NULL when refused (the server reads the certificate to say why).
SPEND_CERTIFICATE = r"""
CREATE FUNCTION kopilka_spend_certificate(p_number text, p_kind text, p_amount bigint,
                                          p_currency text, p_receipt uuid, p_store text,
                                          p_sku text, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  v_left bigint;
  v_policy text;
BEGIN
  UPDATE certificates
     SET balance_minor = balance_minor - p_amount,
         state = CASE WHEN balance_minor = p_amount THEN 'redeemed' ELSE 'active' END,
         updated_at = p_now
   WHERE number = p_number AND state = 'active' AND kind = p_kind
     AND currency = coalesce(p_currency, currency) AND balance_minor >= p_amount
     AND (expires_at IS NULL OR expires_at > p_now)
     AND (valid_from IS NULL OR valid_from <= p_now)
  RETURNING id, balance_minor, remainder_policy INTO v_id, v_left, v_policy;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO certificate_entries (certificate_id, kind, amount_minor, balance_after_minor,
                                   receipt_id, store_code, sku, created_at)
  VALUES (v_id, 'redeem', -p_amount, v_left, p_receipt, p_store, p_sku, p_now);
  IF v_policy = 'forfeit' AND v_left > 0 THEN
    UPDATE certificates SET balance_minor = 0, state = 'redeemed', updated_at = p_now
     WHERE id = v_id;
    INSERT INTO certificate_entries (certificate_id, kind, amount_minor, balance_after_minor,
                                     receipt_id, store_code, note, created_at)
    VALUES (v_id, 'forfeit', -v_left, 0, p_receipt, p_store,
            'remainder forfeited by the type policy', p_now);
    v_left := 0;
  END IF;
  RETURN v_left;
END $$"""

# The card p_card may spend: its member and whether it needs an SMS verification; KL008 (with
# 'missing', 'unassigned' or the card's state) when it may not.
SPENDING_CARD = r"""
CREATE FUNCTION kopilka_spending_card(p_card text, OUT o_member uuid, OUT o_verify boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
BEGIN
  SELECT c.member_id, c.state, t.requires_verification INTO o_member, v_state, o_verify
    FROM cards c JOIN card_types t ON t.code = c.card_type WHERE c.number = p_card;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'card cannot spend' USING ERRCODE = 'KL008', DETAIL = 'missing';
  ELSIF o_member IS NULL THEN
    RAISE EXCEPTION 'card cannot spend' USING ERRCODE = 'KL008', DETAIL = 'unassigned';
  ELSIF v_state <> 'active' THEN
    RAISE EXCEPTION 'card cannot spend' USING ERRCODE = 'KL008', DETAIL = v_state;
  END IF;
END $$"""

# A spend by a card that requires verification uses the token p_token once (KL006 without
# one, KL007 when it paid for a spend already); the server checked its bindings.
USE_TOKEN = r"""
CREATE FUNCTION kopilka_use_verification(p_token uuid, p_request_id uuid, p_operation text,
                                         p_amount bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_token IS NULL THEN
    RAISE EXCEPTION 'verification required' USING ERRCODE = 'KL006';
  END IF;
  INSERT INTO verification_token_uses (token_id, request_id, operation, amount)
  VALUES (p_token, p_request_id, p_operation, p_amount) ON CONFLICT (token_id) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'verification token used' USING ERRCODE = 'KL007';
  END IF;
END $$"""

# The first receipt of a store/terminal/number for this content and caller, now by result.
BOOK_RECEIPT = r"""
CREATE FUNCTION kopilka_book_receipt(p_principal uuid, p_request_id uuid, p_receipt jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_id uuid := (p_receipt->>'receipt_id')::uuid;
  v_first jsonb;
  v_found boolean;
  v_who text;
BEGIN
  INSERT INTO receipts (id, store_code, terminal_id, receipt_number, member_id, card_number,
                        state, currency, subtotal_minor, discount_total_minor, total_minor)
  VALUES (v_id, p_receipt->>'store_code', p_receipt->>'terminal_id',
          p_receipt->>'receipt_number', (p_receipt->>'member_id')::uuid,
          p_receipt->>'card_number', 'confirmed', p_receipt->>'currency',
          (p_receipt->>'subtotal_minor')::bigint, (p_receipt->>'discount_total_minor')::bigint,
          (p_receipt->>'total_minor')::bigint)
  ON CONFLICT ON CONSTRAINT uq_receipt_number DO NOTHING;
  IF NOT FOUND THEN
    SELECT kopilka_stored_result(i.result, i.response), true INTO v_first, v_found
      FROM receipts r
      JOIN receipt_details d ON d.receipt_id = r.id
      JOIN idempotency_records i
        ON i.principal_id = d.principal_id AND i.request_id = d.request_id
     WHERE r.store_code = p_receipt->>'store_code'
       AND r.terminal_id = p_receipt->>'terminal_id'
       AND r.receipt_number = p_receipt->>'receipt_number'
       AND d.principal_id = p_principal
       AND d.content_hash = decode(p_receipt->>'content_hash', 'hex');
    IF v_found IS NULL THEN
      RAISE EXCEPTION 'this receipt number is already used by another receipt'
        USING ERRCODE = 'KL003';
    END IF;
    RETURN v_first;
  END IF;
  INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, points_accrued,
                               points_redeemed, principal_id, content_hash, calculation_id)
  VALUES (v_id, p_request_id, (p_receipt->>'tx_id')::uuid, p_receipt->'lines',
          p_receipt->'payments', (p_receipt->>'points_accrued')::bigint,
          (p_receipt->>'points_redeemed')::bigint, p_principal,
          decode(p_receipt->>'content_hash', 'hex'), (p_receipt->>'calculation_id')::uuid)
  ON CONFLICT (calculation_id) DO NOTHING;
  IF NOT FOUND THEN
    SELECT d.principal_id || ' ' || r.id || ' ' || r.receipt_number INTO v_who
      FROM receipt_details d JOIN receipts r ON r.id = d.receipt_id
     WHERE d.calculation_id = (p_receipt->>'calculation_id')::uuid;
    RAISE EXCEPTION 'this calculation is confirmed already'
      USING ERRCODE = 'KL004', DETAIL = coalesce(v_who, '');
  END IF;
  INSERT INTO ledger_transactions (id, kind, receipt_id, principal)
  VALUES ((p_receipt->>'tx_id')::uuid, 'receipt', v_id, p_receipt->>'principal');
  RETURN NULL;
END $$"""

# ConfirmReceipt, whatever the receipt spends: claim; book (a same-content retry under a new
# request id answers the first result); the card may spend and its verification token is used
# once; lots due expire; points spent, lots accrued; cash-account and certificate payments; the
# member's first promotional purchases; the result stored and returned.
CONFIRM_RECEIPT = r"""
CREATE FUNCTION kopilka_confirm_receipt(p_principal uuid, p_request_id uuid, p_method text,
                                        p_request_hash bytea, p_receipt jsonb, p_token uuid,
                                        p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_result jsonb;
  v_member uuid := (p_receipt->>'member_id')::uuid;
  v_receipt uuid := (p_receipt->>'receipt_id')::uuid;
  v_tx uuid := (p_receipt->>'tx_id')::uuid;
  v_redeemed bigint := (p_receipt->>'points_redeemed')::bigint;
  v_spent bigint := (p_receipt->>'spends_minor')::bigint;
  v_balance bigint;
  v_card record;
  v_pay jsonb;
BEGIN
  v_result := kopilka_ledger_claim(p_principal, p_request_id, p_method, p_request_hash);
  IF v_result IS NOT NULL THEN
    RETURN v_result;
  END IF;
  v_result := kopilka_book_receipt(p_principal, p_request_id, p_receipt);
  IF v_result IS NOT NULL THEN  -- the same sale again under a new request id
    RETURN kopilka_ledger_store(p_principal, p_request_id, v_result);
  END IF;
  IF v_spent > 0 AND p_receipt->>'card_number' IS NOT NULL THEN
    SELECT * INTO v_card FROM kopilka_spending_card(p_receipt->>'card_number');
    IF v_card.o_verify THEN
      PERFORM kopilka_use_verification(p_token, p_request_id, 'confirm_receipt', v_spent);
    END IF;
  END IF;
  IF v_member IS NOT NULL THEN
    IF v_redeemed > 0 THEN
      v_balance := kopilka_spend_points(v_member, v_redeemed, v_tx, p_now);
      IF v_balance IS NULL THEN
        RAISE EXCEPTION 'not enough points' USING ERRCODE = 'KL001',
          DETAIL = kopilka_spendable_points(v_member, p_now)::text;
      END IF;
    ELSE
      PERFORM kopilka_expire_lots(v_member, p_now);
    END IF;
    IF jsonb_array_length(p_receipt->'lots') > 0 THEN
      v_balance := kopilka_accrue_points(
        v_member, v_tx, v_receipt, p_now,
        ARRAY(SELECT x->>'rule_id' FROM jsonb_array_elements(p_receipt->'lots') x),
        ARRAY(SELECT (x->>'points')::bigint FROM jsonb_array_elements(p_receipt->'lots') x),
        ARRAY(SELECT (x->>'activation')::timestamptz
                FROM jsonb_array_elements(p_receipt->'lots') x),
        ARRAY(SELECT (x->>'expiry')::timestamptz FROM jsonb_array_elements(p_receipt->'lots') x));
    ELSIF v_balance IS NULL THEN
      v_balance := kopilka_spendable_points(v_member, p_now);
    END IF;
  END IF;
  FOR v_pay IN SELECT * FROM jsonb_array_elements(p_receipt->'payments') LOOP
    IF v_pay->>'m' = 'cash_account' THEN
      IF kopilka_pay_cash(v_member, (v_pay->>'a')::bigint, v_tx) IS NULL THEN
        RAISE EXCEPTION 'not enough cash' USING ERRCODE = 'KL009', DETAIL = coalesce((
          SELECT coalesce(m.balance, a.balance) FROM ledger_accounts a
            LEFT JOIN ledger_accounts m ON m.id = a.master_id
           WHERE a.member_id = v_member AND a.kind = 'cash'), 0)::text;
      END IF;
    ELSIF v_pay->>'m' = 'certificate' THEN
      IF kopilka_spend_certificate(v_pay->>'c', 'money', (v_pay->>'a')::bigint,
                                   p_receipt->>'currency', v_receipt,
                                   p_receipt->>'store_code', NULL, p_now) IS NULL THEN
        RAISE EXCEPTION 'certificate refused' USING ERRCODE = 'KL005', DETAIL = v_pay->>'c';
      END IF;
    END IF;
  END LOOP;
  IF v_member IS NOT NULL AND jsonb_array_length(p_receipt->'promotions') > 0 THEN
    -- the first promotional purchase, dated in the store's local time zone
    INSERT INTO member_promotion_uses (member_id, promotion_id, first_date)
    SELECT v_member, promo, (SELECT ((p_receipt->>'receipt_time')::timestamptz
                                     AT TIME ZONE s.time_zone)::date
                               FROM stores s WHERE s.code = p_receipt->>'store_code')
      FROM jsonb_array_elements_text(p_receipt->'promotions') AS promo
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN kopilka_ledger_store(p_principal, p_request_id, jsonb_build_object(
    'receipt_id', v_receipt, 'points_accrued', (p_receipt->>'points_accrued')::bigint,
    'points_redeemed', v_redeemed, 'points_balance', coalesce(v_balance, 0),
    'confirm_time', p_now));
END $$"""

# RedeemBonus: claim; the card may spend and its verification token is used once; points spent
# (due lots expired first) under a 'redeem' transaction; the result stored and returned.
REDEEM_POINTS = r"""
CREATE FUNCTION kopilka_redeem_points(p_principal uuid, p_request_id uuid, p_method text,
                                      p_request_hash bytea, p_card text, p_points bigint,
                                      p_tx uuid, p_reason text, p_label text, p_token uuid,
                                      p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_result jsonb;
  v_card record;
  v_balance bigint;
BEGIN
  v_result := kopilka_ledger_claim(p_principal, p_request_id, p_method, p_request_hash);
  IF v_result IS NOT NULL THEN
    RETURN v_result;
  END IF;
  SELECT * INTO v_card FROM kopilka_spending_card(p_card);
  IF v_card.o_verify THEN
    PERFORM kopilka_use_verification(p_token, p_request_id, 'redeem_points', p_points);
  END IF;
  INSERT INTO ledger_transactions (id, kind, reason, principal)
  VALUES (p_tx, 'redeem', p_reason, p_label);
  v_balance := kopilka_spend_points(v_card.o_member, p_points, p_tx, p_now);
  IF v_balance IS NULL THEN
    RAISE EXCEPTION 'not enough points' USING ERRCODE = 'KL001',
      DETAIL = kopilka_spendable_points(v_card.o_member, p_now)::text;
  END IF;
  RETURN kopilka_ledger_store(p_principal, p_request_id, jsonb_build_object(
    'transaction_id', p_tx, 'points_balance', v_balance));
END $$"""

# Receipt lines as objects with named fields (0003 stored positional arrays).
NAMED_LINES = r"""
UPDATE receipt_details SET lines = (
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'line_no', l->0, 'quantity_milli', l->1, 'final_amount_minor', l->2,
           'accrual_points', l->3, 'points_discount_minor', l->4, 'sku', l->5) ORDER BY n), '[]')
    FROM jsonb_array_elements(lines) WITH ORDINALITY AS x(l, n))
WHERE jsonb_typeof(lines->0) = 'array'"""

POSITIONAL_LINES = r"""
UPDATE receipt_details SET lines = (
  SELECT coalesce(jsonb_agg(jsonb_build_array(
           l->'line_no', l->'quantity_milli', l->'final_amount_minor', l->'accrual_points',
           l->'points_discount_minor', l->'sku') ORDER BY n), '[]')
    FROM jsonb_array_elements(lines) WITH ORDINALITY AS x(l, n))
WHERE jsonb_typeof(lines->0) = 'object'"""

OLD = (
    "DROP FUNCTION kopilka_confirm_receipt(uuid, uuid, text, bytea, uuid, text, text, text, "
    "uuid, text, text, bigint, bigint, bigint, uuid, jsonb, jsonb, bigint, bigint, text, "
    "bytea, uuid, bigint, bigint, timestamptz, text[], bigint[], timestamptz[], "
    "timestamptz[], text[], timestamptz, bytea, integer, bytea)",
    "DROP FUNCTION kopilka_redeem_points(uuid, uuid, text, bytea, text, bigint, uuid, text, "
    "text, boolean, bytea, integer, bytea)",
    "DROP FUNCTION kopilka_book_receipt(uuid, uuid, uuid, text, text, text, uuid, text, text, "
    "bigint, bigint, bigint, uuid, jsonb, jsonb, bigint, bigint, text, bytea, uuid)",
    "DROP FUNCTION kopilka_prior_answer(uuid, uuid, text, bytea)",
    "DROP FUNCTION kopilka_pb_uint_field(integer, bigint)",
)

NEW = (STORED_RESULT, CLAIM, STORE_RESULT, SPENDABLE, SPEND_POINTS, ACCRUE_POINTS, PAY_CASH,
       SPEND_CERTIFICATE, SPENDING_CARD, USE_TOKEN, BOOK_RECEIPT, CONFIRM_RECEIPT, REDEEM_POINTS)

NEW_SIGNATURES = (
    "kopilka_redeem_points(uuid, uuid, text, bytea, text, bigint, uuid, text, text, uuid, "
    "timestamptz)",
    "kopilka_confirm_receipt(uuid, uuid, text, bytea, jsonb, uuid, timestamptz)",
    "kopilka_book_receipt(uuid, uuid, jsonb)",
    "kopilka_use_verification(uuid, uuid, text, bigint)",
    "kopilka_spending_card(text)",
    "kopilka_spend_certificate(text, text, bigint, text, uuid, text, text, timestamptz)",
    "kopilka_pay_cash(uuid, bigint, uuid)",
    "kopilka_accrue_points(uuid, uuid, uuid, timestamptz, text[], bigint[], timestamptz[], "
    "timestamptz[])",
    "kopilka_spend_points(uuid, bigint, uuid, timestamptz)",
    "kopilka_spendable_points(uuid, timestamptz)",
    "kopilka_ledger_store(uuid, uuid, jsonb)",
    "kopilka_ledger_claim(uuid, uuid, text, bytea)",
    "kopilka_stored_result(jsonb, bytea)",
)


def upgrade() -> None:
    for sql in OLD:
        op.execute(sql)
    op.add_column("idempotency_records",
                  sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.execute(NAMED_LINES)
    for sql in NEW:
        op.execute(sql)


def downgrade() -> None:
    """Back to 0012's functions (a stored result that has no protobuf answer is lost)."""
    import importlib.util
    from pathlib import Path

    def revision(name: str):  # type: ignore[no-untyped-def]
        spec = importlib.util.spec_from_file_location(f"kopilka_{name}",
                                                      Path(__file__).with_name(name))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    for signature in NEW_SIGNATURES:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute(POSITIONAL_LINES)
    op.drop_column("idempotency_records", "result")
    r0007, r0009 = revision("0007_ledger_functions.py"), revision("0009_trust_ledger.py")
    for sql in (r0007.PB_UINT_FIELD, r0009.PRIOR_ANSWER, r0009.BOOK_RECEIPT,
                r0009.REDEEM_POINTS, r0009.CONFIRM_RECEIPT):
        op.execute(sql)
