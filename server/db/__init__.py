"""Persistence: the only package that knows SQLAlchemy and SQL."""
