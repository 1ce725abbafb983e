"""Bonus points and cash accounts: accrual rules, refund arithmetic, conversions (pure).

1 point = 1 minor unit (kopeck) of value when spent. Storage lives in server/db/ledger_*.
"""
