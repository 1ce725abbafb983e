"""Database URL spelling: users give postgresql://, SQLAlchemy wants the asyncpg driver."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def sqlalchemy_url(url: str) -> URL:
    """Any postgres:// or postgresql:// URL as a postgresql+asyncpg URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg")


def plain_url(url: str | URL) -> str:
    """The libpq/asyncpg spelling (no driver suffix), password kept."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """Same server, another database name (used to create per-test and embedded databases)."""
    return plain_url(make_url(url).set(database=database))
