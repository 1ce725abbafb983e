"""Hot-path SQL of the ledger, as single statements run as asyncpg prepared statements.

Money moves with `UPDATE ... WHERE balance >= $n RETURNING` so an account can never be
overdrawn, however many calls race: PostgreSQL re-checks the condition on the newest row
version after waiting for the row lock. The two hot paths (RedeemBonus, a ConfirmReceipt that
spends nothing) are PL/pgSQL functions of migration 0007, called by the texts at the end; the
benchmark runs those very texts under pgbench.

Lock order (no deadlocks): a member's points account, then points_pending, then cash; lots
are only changed while their member's points account row is locked.
"""

# Idempotency records are per caller: $1 principal (API key id), $2 request id.
CLAIM = """
INSERT INTO idempotency_records (principal_id, request_id, method, request_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT (principal_id, request_id) DO NOTHING RETURNING request_id"""

PRIOR = """
SELECT method, request_hash, response FROM idempotency_records
WHERE principal_id = $1 AND request_id = $2"""

STORE = "UPDATE idempotency_records SET response = $3 WHERE principal_id = $1 AND request_id = $2"

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

# Expire member $1's lots that are due (migration 0009): before every spend, so an expired lot
# is never spent whether or not the expiry job has run. Locks the points account when needed.
EXPIRE_LOTS = "SELECT kopilka_expire_lots($1, $2)"

# The points a member may spend now: the balance less active lots past their expiry time that
# the job has not expired yet. $1 member, $2 now.
SPENDABLE_POINTS = """
SELECT coalesce(max(a.balance), 0) - coalesce((
  SELECT sum(l.points_left) FROM point_lots l
  WHERE l.member_id = $1 AND l.state = 'active' AND l.expiry_at <= $2), 0)::bigint
FROM ledger_accounts a WHERE a.member_id = $1 AND a.kind = 'points'"""

# Book a receipt (migration 0009's kopilka_book_receipt): NULL when booked, the first answer
# when the number holds the same content from the same caller; KL003 / KL004 when refused.
# $1 principal, $2 request id, $3 receipt id, $4 store, $5 terminal, $6 number, $7 member,
# $8 card, $9 currency, $10 subtotal, $11 discount, $12 total, $13 tx id, $14 lines json,
# $15 payments json, $16 points accrued, $17 points redeemed, $18 principal label,
# $19 content hash, $20 calculation id
BOOK_RECEIPT = ("SELECT kopilka_book_receipt(" + ", ".join(f"${n}" for n in range(1, 21))
                + ")")

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


# --- hot paths as one call each (server/db/ledger_fast.py, migrations 0007 and 0009) -------
# Sent in autocommit: the function body is the transaction. Both return the answer bytes.
# $1 principal, $2 request id, $3 method, $4 request hash, $5 card, $6 points, $7 tx id,
# $8 reason, $9 principal label, $10 verified (bool), $11 answer head, $12 balance field number,
# $13 answer tail
REDEEM_POINTS = ("SELECT kopilka_redeem_points(" + ", ".join(f"${n}" for n in range(1, 14))
                 + ")")

# $1..$4 the claim, $5 receipt id, $6 store, $7 terminal, $8 number, $9 member (or NULL),
# $10 card, $11 currency, $12 subtotal, $13 discount, $14 total, $15 tx id, $16 lines json,
# $17 payments json, $18 points accrued, $19 points redeemed, $20 principal label,
# $21 content hash, $22 calculation id, $23 active points, $24 pending points, $25 now, lots as
# arrays $26 rule ids, $27 points, $28 activation, $29 expiry, $30 applied promotions,
# $31 receipt time, $32 answer head, $33 balance field, $34 answer tail
CONFIRM_RECEIPT = ("SELECT kopilka_confirm_receipt(" + ", ".join(f"${n}" for n in range(1, 35))
                   + ")")
