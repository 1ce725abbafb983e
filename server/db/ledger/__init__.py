"""The ledger's storage: accounts, lots, receipts, the ledger functions' callers."""
