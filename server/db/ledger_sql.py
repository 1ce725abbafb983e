"""Hot-path SQL of the ledger, as single statements run as asyncpg prepared statements.

Money moves with `UPDATE ... WHERE balance >= $n RETURNING` so an account can never be
overdrawn, however many calls race: PostgreSQL re-checks the condition on the newest row
version after waiting for the row lock. The two hot paths (RedeemBonus, a ConfirmReceipt that
spends nothing) are PL/pgSQL functions of migration 0007, called by the texts at the end; the
benchmark runs those very texts under pgbench.

Lock order (no deadlocks): a member's points account, then points_pending, then cash; lots
are only changed while their member's points account row is locked.
"""

CLAIM = """
INSERT INTO idempotency_records (request_id, method, request_hash) VALUES ($1, $2, $3)
ON CONFLICT (request_id) DO NOTHING RETURNING request_id"""

PRIOR = "SELECT method, request_hash, response FROM idempotency_records WHERE request_id = $1"

STORE = "UPDATE idempotency_records SET response = $2 WHERE request_id = $1"

NEW_TX = """
INSERT INTO ledger_transactions (id, kind, receipt_id, reason, principal)
VALUES ($1, $2, $3, $4, $5)"""

# $1 member, $2 amount > 0, $3 tx id, $4 account kind
DEBIT = """
WITH a AS (
  UPDATE ledger_accounts SET balance = balance - $2::bigint
  WHERE member_id = $1 AND kind = $4 AND balance >= $2
  RETURNING id, balance),
e AS (INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $3, id, -$2 FROM a)
SELECT balance FROM a"""

# Spend $2 points of member $1 from active lots, oldest-expiring first (account row locked).
# A statement of its own: its snapshot must be taken after the debit locked the account row.
_SPEND_LOTS = """
pick AS (
  SELECT id, LEAST(points_left, $2::bigint - (cum - points_left)) AS take FROM (
    SELECT id, points_left,
           sum(points_left) OVER (ORDER BY expiry_at ASC NULLS LAST, activation_at, id)::bigint
             AS cum
    FROM point_lots WHERE member_id = $1 AND state = 'active' AND points_left > 0) s
  WHERE cum - points_left < $2::bigint),
u AS (
  UPDATE point_lots l SET points_left = l.points_left - p.take FROM pick p WHERE l.id = p.id
  RETURNING l.id, p.take),
m AS (INSERT INTO lot_movements (tx_id, lot_id, points) SELECT $3, id, -take FROM u)"""

CONSUME_LOTS = f"""
WITH {_SPEND_LOTS}
SELECT coalesce(sum(take), 0)::bigint FROM u"""

# Credit member $1: $2 active points, $3 pending points; create lots (arrays $6..$9) whose
# activation <= $5 start active. Returns the points balance.
ACCRUE = """
WITH a AS (
  INSERT INTO ledger_accounts (member_id, kind, balance) VALUES ($1, 'points', $2::bigint)
  ON CONFLICT (member_id, kind) DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
  RETURNING id, balance),
ea AS (INSERT INTO ledger_entries (tx_id, account_id, amount)
       SELECT $4, id, $2::bigint FROM a WHERE $2::bigint > 0),
p AS (
  INSERT INTO ledger_accounts (member_id, kind, balance)
  SELECT $1, 'points_pending', $3::bigint WHERE $3::bigint > 0
  ON CONFLICT (member_id, kind) DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
  RETURNING id),
ep AS (INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $4, id, $3::bigint FROM p),
l AS (
  INSERT INTO point_lots (member_id, tx_id, receipt_id, rule_id, points_initial, points_left,
                          state, activation_at, expiry_at)
  SELECT $1, $4, $10, x.rule_id, x.points, x.points,
         CASE WHEN x.act <= $5 THEN 'active' ELSE 'pending' END, x.act, x.exp
  FROM unnest($6::text[], $7::bigint[], $8::timestamptz[], $9::timestamptz[])
       AS x(rule_id, points, act, exp)
  RETURNING id, points_initial),
m AS (INSERT INTO lot_movements (tx_id, lot_id, points) SELECT $4, id, points_initial FROM l)
SELECT balance FROM a"""

# $1 receipt id ... see ledger_receipts.insert_receipt for the parameter list.
INSERT_RECEIPT = """
WITH r AS (
  INSERT INTO receipts (id, store_code, terminal_id, receipt_number, member_id, card_number,
                        state, currency, subtotal_minor, discount_total_minor, total_minor)
  VALUES ($1, $2, $3, $4, $5, $6, 'confirmed', $7, $8, $9, $10)
  ON CONFLICT ON CONSTRAINT uq_receipt_number DO NOTHING RETURNING id),
d AS (
  INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, points_accrued,
                               points_redeemed)
  SELECT id, $11, $12, $13::jsonb, $14::jsonb, $15, $16 FROM r)
INSERT INTO ledger_transactions (id, kind, receipt_id, principal)
SELECT $12, 'receipt', id, $17 FROM r RETURNING receipt_id"""

FIRST_CONFIRM_ANSWER = """
SELECT i.response FROM receipts r
JOIN receipt_details d ON d.receipt_id = r.id
JOIN idempotency_records i ON i.request_id = d.request_id
WHERE r.store_code = $1 AND r.terminal_id = $2 AND r.receipt_number = $3"""

CARD_FOR_SPENDING = """
SELECT c.member_id, c.state, t.requires_verification FROM cards c
JOIN card_types t ON t.code = c.card_type WHERE c.number = $1"""

# First promotional purchase per member and promotion (rules valid N days from it), dated in
# the store's local time zone; later receipts keep the first date.
RECORD_PROMOTION_USES = """
INSERT INTO member_promotion_uses (member_id, promotion_id, first_date)
SELECT $1, promo, (SELECT ($3::timestamptz AT TIME ZONE s.time_zone)::date
                     FROM stores s WHERE s.code = $4)
  FROM unnest($2::text[]) AS promo
ON CONFLICT DO NOTHING
"""


# --- hot paths as one call each (server/db/ledger_fast.py, migration 0007) ----------------
# Sent in autocommit: the function body is the transaction. Both return the answer bytes.
# $1 request id, $2 method, $3 request hash, $4 card, $5 points, $6 tx id, $7 reason,
# $8 principal, $9 verified (bool), $10 answer head, $11 balance field number, $12 answer tail
REDEEM_POINTS = ("SELECT kopilka_redeem_points($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                 "$12)")

# $1..$3 the claim, $4 receipt id, $5 store, $6 terminal, $7 number, $8 member (or NULL), $9 card,
# $10 currency, $11 subtotal, $12 discount, $13 total, $14 tx id, $15 lines json, $16 payments
# json, $17 points accrued, $18 points redeemed, $19 principal, $20 active points, $21 pending
# points, $22 now, lots as arrays $23 rule ids, $24 points, $25 activation, $26 expiry,
# $27 applied promotions, $28 receipt time, $29 answer head, $30 balance field, $31 answer tail
CONFIRM_RECEIPT = ("SELECT kopilka_confirm_receipt(" + ", ".join(f"${n}" for n in range(1, 32))
                   + ")")
