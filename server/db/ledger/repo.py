"""Ledger storage primitives over the raw asyncpg connection of the caller's session.

Hot paths skip the ORM (DESIGN.md: asyncpg prepared statements ran ~4x faster), but they
must stay inside the session's transaction, so every function takes the AsyncSession and
borrows its driver connection.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual import Lot
from server.db.ledger import models as _models  # noqa: F401  (registers the ledger tables)
from server.db.ledger import sql as q
from server.ledger.service import card_cannot_spend
from server.ledger.service import insufficient as insufficient  # one text for every path


async def raw_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of `session`, with the session's transaction begun.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily on its first statement; statements sent
    straight to the driver must not run before it, or they would autocommit.
    """
    fairy = await (await session.connection()).get_raw_connection()
    adapter: Any = fairy.dbapi_connection  # SQLAlchemy's asyncpg adapter (untyped)
    if getattr(adapter, "_transaction", True) is None:
        await adapter._start_transaction()
    driver = fairy.driver_connection
    if driver is None:  # a live session's connection always has its driver connection
        raise RuntimeError("the session's connection has no driver connection")
    return cast(asyncpg.Connection, driver)  # SQLAlchemy types it as Any


async def new_tx(conn: asyncpg.Connection, kind: str, *, receipt_id: uuid.UUID | None = None,
                 reason: str = "", principal: str = "") -> uuid.UUID:
    """Start a ledger transaction record; entries and lot movements hang off it."""
    tx_id = uuid.uuid4()
    await conn.execute(q.NEW_TX, tx_id, kind, receipt_id, reason, principal)
    return tx_id


async def expire_due_lots(conn: asyncpg.Connection, member_id: uuid.UUID,
                          now: dt.datetime) -> None:
    """Expire the member's lots whose time has passed (locking the points account if any),
    so a balance read or answered next leaves them out whether or not the job ran."""
    await conn.execute(q.EXPIRE_LOTS, member_id, now)


async def spend_points(conn: asyncpg.Connection, member_id: uuid.UUID, points: int,
                       tx_id: uuid.UUID, now: dt.datetime) -> int:
    """Spend points the ledger's one way (kopilka_spend_points: due lots expire, never
    overdrawn, oldest-expiring lots first); INSUFFICIENT_POINTS if short."""
    balance = await conn.fetchval(q.SPEND_POINTS, member_id, points, tx_id, now)
    if balance is None:
        raise insufficient("points", await points_balance(conn, member_id, now))
    return int(balance)


async def accrue(conn: asyncpg.Connection, member_id: uuid.UUID, tx_id: uuid.UUID,
                 lots: Sequence[Lot], now: dt.datetime,
                 receipt_id: uuid.UUID | None = None) -> int:
    """Create lots (active when already activated, else pending); the points balance after."""
    balance = await conn.fetchval(
        q.ACCRUE_POINTS, member_id, tx_id, receipt_id, now, [x.rule_id for x in lots],
        [x.points for x in lots], [x.activation_time for x in lots],
        [x.expiry_time for x in lots])
    return int(balance)


async def points_balance(conn: asyncpg.Connection, member_id: uuid.UUID,
                         now: dt.datetime | None = None) -> int:
    """The points the member may spend at `now` (default: this moment): lots past
    their expiry time are not counted, whether or not the expiry job has run."""
    return int(await conn.fetchval(q.SPENDABLE_POINTS, member_id,
                                   now or dt.datetime.now(dt.UTC)))


async def lock_points_accounts(conn: asyncpg.Connection, member_id: uuid.UUID) -> None:
    """Create (if missing) and lock the member's points then pending accounts, in lock order."""
    await conn.execute(
        "INSERT INTO ledger_accounts (member_id, kind, balance) "
        "SELECT $1, k, 0 FROM unnest(ARRAY['points', 'points_pending']) k "
        "ON CONFLICT (member_id, kind) DO NOTHING", member_id)
    await conn.execute(
        "SELECT id FROM ledger_accounts WHERE member_id = $1 "
        "AND kind IN ('points', 'points_pending') ORDER BY kind FOR UPDATE", member_id)


async def change_balance(conn: asyncpg.Connection, account_id: int, amount: int,
                         tx_id: uuid.UUID) -> int:
    """Add a signed amount to a locked account with its entry; the new balance."""
    balance = await conn.fetchval(
        "WITH a AS (UPDATE ledger_accounts SET balance = balance + $2 WHERE id = $1 "
        "RETURNING id, balance), e AS (INSERT INTO ledger_entries (tx_id, account_id, amount) "
        "SELECT $3, id, $2 FROM a) SELECT balance FROM a", account_id, amount, tx_id)
    if balance is None:
        raise RuntimeError(f"ledger account {account_id} vanished")
    return int(balance)


async def member_account_id(conn: asyncpg.Connection, member_id: uuid.UUID, kind: str) -> int:
    """Id of a member's account of `kind`, created empty when missing."""
    return int(await conn.fetchval(
        "INSERT INTO ledger_accounts (member_id, kind, balance) VALUES ($1, $2, 0) "
        "ON CONFLICT (member_id, kind) DO UPDATE SET kind = EXCLUDED.kind RETURNING id",
        member_id, kind))


async def card_holder(conn: asyncpg.Connection, card_number: str,
                      field_path: str = "card_number") -> tuple[uuid.UUID, bool]:
    """(member id, requires verification) of an active, assigned card, or a clear refusal:
    the ledger's own rule (kopilka_spending_card), as ConfirmReceipt and RedeemBonus use it."""
    if not card_number:
        from server.errors import invalid

        raise invalid(field_path, "required")
    try:
        row = await conn.fetchrow(q.SPENDING_CARD, card_number)
    except asyncpg.PostgresError as error:  # KL008: nothing written, the caller rolls back
        if error.sqlstate != "KL008":
            raise
        raise card_cannot_spend(getattr(error, "detail", None) or "", card_number) from None
    assert row is not None  # the function returns one row or raises
    return row["o_member"], bool(row["o_verify"])
