"""Payments, legal entities, invoices and waybills in SQL (issue 14)."""
