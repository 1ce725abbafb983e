"""Hot-path SQL of the ledger, as single statements run as asyncpg prepared statements.

Money moves with `UPDATE ... WHERE balance >= $n RETURNING` so an account can never be
overdrawn, however many calls race: PostgreSQL re-checks the condition on the newest row
version after waiting for the row lock. The benchmark runs these very texts under pgbench.

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


# --- hot paths with the idempotency claim folded in (server/db/ledger_fast.py) -----------
# Each starts with the claim of request id $1 (method $2, request hash $3): when the id is
# taken (a retry, or a concurrent twin that committed first) nothing else in the statement
# writes, and `claimed` is false. A twin still in flight makes the INSERT wait for its end.
_CLAIM_CTE = """
k AS (
  INSERT INTO idempotency_records (request_id, method, request_hash) VALUES ($1, $2, $3)
  ON CONFLICT (request_id) DO NOTHING RETURNING request_id)"""

# RedeemBonus, first statement: claim + the card's member's points debit (with its entry).
# $4 card, $5 points, $6 tx id, $7 reason, $8 principal, $9 verified (bool)
CLAIM_AND_REDEEM = f"""
WITH {_CLAIM_CTE},
c AS (
  SELECT c.member_id FROM cards c JOIN card_types t ON t.code = c.card_type
  WHERE EXISTS (SELECT 1 FROM k) AND c.number = $4 AND c.state = 'active'
    AND c.member_id IS NOT NULL AND ($9::boolean OR NOT t.requires_verification)),
a AS (
  UPDATE ledger_accounts SET balance = balance - $5::bigint
  WHERE member_id = (SELECT member_id FROM c) AND kind = 'points' AND balance >= $5
  RETURNING id, member_id, balance),
t AS (
  INSERT INTO ledger_transactions (id, kind, reason, principal)
  SELECT $6, 'redeem', $7, $8 FROM a),
e AS (INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $6, id, -$5 FROM a)
SELECT EXISTS (SELECT 1 FROM k) AS claimed, (SELECT member_id FROM a) AS member_id,
       (SELECT balance FROM a) AS balance"""

# RedeemBonus, second statement: CONSUME_LOTS + the stored answer ($4 request id, $5 bytes).
CONSUME_LOTS_AND_ANSWER = f"""
WITH {_SPEND_LOTS},
s AS (UPDATE idempotency_records SET response = $5 WHERE request_id = $4)
SELECT coalesce(sum(take), 0)::bigint FROM u"""

# ConfirmReceipt without spending (no points, cash account or certificate): claim +
# INSERT_RECEIPT + ACCRUE + RECORD_PROMOTION_USES. Nothing but the claim is written when the
# receipt number is known already (`inserted` false: answer with the first confirmation).
# $4 receipt id, $5 store, $6 terminal, $7 number, $8 member (or NULL), $9 card, $10 currency,
# $11 subtotal, $12 discount, $13 total, $14 tx id, $15 lines json, $16 payments json,
# $17 points accrued, $18 points redeemed, $19 principal, $20 active points, $21 pending
# points, $22 now, lots as arrays $23 rule ids, $24 points, $25 activation, $26 expiry,
# $27 applied promotions, $28 receipt time.
CLAIM_AND_CONFIRM = f"""
WITH {_CLAIM_CTE},
r AS (
  INSERT INTO receipts (id, store_code, terminal_id, receipt_number, member_id, card_number,
                        state, currency, subtotal_minor, discount_total_minor, total_minor)
  SELECT $4, $5, $6, $7, $8, $9, 'confirmed', $10, $11, $12, $13 WHERE EXISTS (SELECT 1 FROM k)
  ON CONFLICT ON CONSTRAINT uq_receipt_number DO NOTHING RETURNING id),
d AS (
  INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, points_accrued,
                               points_redeemed)
  SELECT id, $1, $14, $15::jsonb, $16::jsonb, $17, $18 FROM r),
t AS (
  INSERT INTO ledger_transactions (id, kind, receipt_id, principal)
  SELECT $14, 'receipt', id, $19 FROM r),
g AS (SELECT $8::uuid AS member_id FROM r
      WHERE $8::uuid IS NOT NULL AND cardinality($24::bigint[]) > 0),
a AS (
  INSERT INTO ledger_accounts (member_id, kind, balance)
  SELECT member_id, 'points', $20::bigint FROM g
  ON CONFLICT (member_id, kind) DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
  RETURNING id, balance),
ea AS (INSERT INTO ledger_entries (tx_id, account_id, amount)
       SELECT $14, id, $20::bigint FROM a WHERE $20::bigint > 0),
p AS (
  INSERT INTO ledger_accounts (member_id, kind, balance)
  SELECT member_id, 'points_pending', $21::bigint FROM g WHERE $21::bigint > 0
  ON CONFLICT (member_id, kind) DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
  RETURNING id),
ep AS (INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $14, id, $21::bigint FROM p),
l AS (
  INSERT INTO point_lots (member_id, tx_id, receipt_id, rule_id, points_initial, points_left,
                          state, activation_at, expiry_at)
  SELECT g.member_id, $14, $4, x.rule_id, x.points, x.points,
         CASE WHEN x.act <= $22 THEN 'active' ELSE 'pending' END, x.act, x.exp
  FROM g, unnest($23::text[], $24::bigint[], $25::timestamptz[], $26::timestamptz[])
       AS x(rule_id, points, act, exp)
  RETURNING id, points_initial),
m AS (INSERT INTO lot_movements (tx_id, lot_id, points) SELECT $14, id, points_initial FROM l),
pu AS (
  INSERT INTO member_promotion_uses (member_id, promotion_id, first_date)
  SELECT $8, promo, (SELECT ($28::timestamptz AT TIME ZONE s.time_zone)::date
                       FROM stores s WHERE s.code = $5)
  FROM r, unnest($27::text[]) AS promo WHERE $8::uuid IS NOT NULL
  ON CONFLICT DO NOTHING)
SELECT EXISTS (SELECT 1 FROM k) AS claimed, EXISTS (SELECT 1 FROM r) AS inserted,
       coalesce((SELECT balance FROM a),
                (SELECT balance FROM ledger_accounts WHERE member_id = $8 AND kind = 'points'),
                0) AS balance"""
