"""Payments of online orders, legal entities of the seller, invoices, waybills (issue 14)."""
