"""The ledger's asyncpg pool in the App (`deps.ledger_pool`).

ConfirmReceipt and RedeemBonus run on it (server/db/ledger/pool.py says why); it is opened
at start and closed after the gRPC server stopped, before the SQLAlchemy engine is disposed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.db.ledger.pool import LedgerPool

if TYPE_CHECKING:
    from server.app import App


def attach(app: App, pool: LedgerPool) -> None:
    """Open the pool (one per process, sized like the SQLAlchemy pool) when the app starts,
    close it when it stops."""

    async def start(app: App) -> None:
        await pool.get()

    async def stop(app: App) -> None:
        await pool.close()

    app.on_start.append(start)
    app.on_stop.append(stop)
