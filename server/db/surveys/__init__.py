"""Surveys in SQL (issue 17)."""
