"""Wires the ledger's asyncpg pool into the App (`app.deps.extras["ledger_pool"]`).

ConfirmReceipt and RedeemBonus run on it (server/db/ledger_pool.py says why); it is opened
at start and closed after the gRPC server stopped, before the SQLAlchemy engine is disposed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.db.ledger_pool import LedgerPool

if TYPE_CHECKING:
    from server.app import App

EXTRA = "ledger_pool"


def setup_ledger_pool(app: App) -> None:
    """FEATURE_SETUP entry: one pool per process, sized like the SQLAlchemy pool."""
    pool = LedgerPool(app.db.url, app.settings.db_pool_size)
    app.deps.extras[EXTRA] = pool

    async def start(app: App) -> None:
        await pool.get()

    async def stop(app: App) -> None:
        await pool.close()

    app.on_start.append(start)
    app.on_stop.append(stop)
