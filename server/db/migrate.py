"""Schema migrations through Alembic, callable from the CLI, the server and tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    """An Alembic config that needs no alembic.ini on disk."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def _upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "heads")


async def migrate(database_url: str) -> None:
    """Bring the database to the newest schema (all heads: features migrate independently).

    Alembic's env runs its own event loop, so it runs in a worker thread here.
    """
    await asyncio.to_thread(_upgrade, database_url)
