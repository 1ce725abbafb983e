"""The receipt lifecycle shared by pricing (calculate) and the ledger (confirm, refund)."""
