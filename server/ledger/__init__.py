"""The ledger: receipts booked and points spent exactly once (pure domain; SQL in server/db)."""
