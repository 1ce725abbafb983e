"""SQL of the ledger that Python sends: calls of the ledger functions (migrations 0009, 0013)
and the few statements of its own that they do not cover.

Every rule on points, cash and lots lives once, in those functions: spending (expire what is
due, never overdraw, lots oldest-expiring first), accrual (lots active or pending), cash from
an own or master account. The hot paths (ConfirmReceipt, RedeemBonus) are one function call
each (server/db/ledger/store.py); adjustments, conversions, refunds and jobs call the same
primitives inside their transactions.

Lock order (no deadlocks): a member's points account, then points_pending, then cash; lots
are only changed while their member's points account row is locked.
"""

NEW_TX = """
INSERT INTO ledger_transactions (id, kind, receipt_id, reason, principal)
VALUES ($1, $2, $3, $4, $5)"""

# $1 member, $2 points, $3 tx id, $4 now: the new balance, or NULL when short
SPEND_POINTS = "SELECT kopilka_spend_points($1, $2, $3, $4)"

# $1 member, $2 tx id, $3 receipt id (or NULL), $4 now, lots as arrays $5 rule ids,
# $6 points, $7 activation, $8 expiry: the points balance after
ACCRUE_POINTS = "SELECT kopilka_accrue_points($1, $2, $3, $4, $5, $6, $7, $8)"

# $1 member, $2 amount, $3 tx id: the new cash balance, or NULL when short
PAY_CASH = "SELECT kopilka_pay_cash($1, $2, $3)"

# Expire member $1's lots that are due at $2 (locks the points account when there are any).
EXPIRE_LOTS = "SELECT kopilka_expire_lots($1, $2)"

# The points member $1 may spend at $2: lots past their expiry are not counted.
SPENDABLE_POINTS = "SELECT kopilka_spendable_points($1, $2)"

# The card $1 may spend: its member and whether it needs an SMS verification (KL008 if not).
SPENDING_CARD = "SELECT o_member, o_verify FROM kopilka_spending_card($1)"
