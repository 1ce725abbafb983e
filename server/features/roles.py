"""Roles in memory: loaded before the app serves, reloaded every `roles_refresh_seconds`.

The worker that changes a role reloads at once (RoleService); the others, and changes from
`kopilka roles`, apply within KOPILKA_ROLES_REFRESH_SECONDS. A reload is one small query
off the hot path; permission checks only read the RoleBook.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from server.auth.roles import RoleBook
from server.db.database import Database
from server.db.roles.repo import load_roles

if TYPE_CHECKING:
    from server.app import App

log = logging.getLogger("kopilka.roles")


async def refresh(db: Database, book: RoleBook) -> bool:
    """Load the roles into `book`; True when they changed."""
    async with db.transaction() as session:
        roles = await load_roles(session)
    changed = book.install(roles)
    if changed:
        log.info("roles loaded", extra={"roles": len(roles)})
    return changed


async def poll(db: Database, book: RoleBook, interval: float) -> None:
    """Reload forever every `interval` seconds; errors are logged, never fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            await refresh(db, book)
        except Exception:
            log.exception("roles refresh failed; keeping the previous roles")


def attach(app: App, book: RoleBook) -> None:
    async def load(_: App) -> None:
        await refresh(app.db, book)

    app.on_start.append(load)
    app.add_background(lambda: poll(app.db, book, app.settings.roles_refresh_seconds))
