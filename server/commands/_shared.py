"""What feature commands share: run async work against the migrated database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from server.settings import Settings

if TYPE_CHECKING:
    from server.db.database import Database

T = TypeVar("T")


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate (starting the embedded PostgreSQL when no URL is set), run `work(db)`, close."""
    from server.cli import _run
    from server.db.database import Database
    from server.runtime import prepare_database

    async def run() -> T:
        db = Database(await prepare_database(settings), pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return _run(run())
