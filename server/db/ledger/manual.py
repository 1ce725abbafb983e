"""Manual points and cash changes: the requests table (migration 0016) and applying them.

AdjustPoints and TopUpCashAccount apply here whether at once or after approval, so an
approved change books exactly what an immediate one would.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from server.db.ledger.bonus import manual_lot
from server.db.ledger.cash import cash_balance, credit_cash
from server.db.ledger.repo import accrue, expire_due_lots, new_tx, points_balance, spend_points
from server.ledger.manual import Adjustment, AdjustmentState, ManualKind, ReasonCode

COLUMNS = ("id, kind, card_number, member_id, amount, reason_code, note, state, requested_by, "
           "requested_key, created_at, decided_by, tx_id")


def _adjustment(row: asyncpg.Record) -> Adjustment:
    return Adjustment(row["id"], ManualKind(row["kind"]), row["card_number"], row["member_id"],
                      row["amount"], ReasonCode(row["reason_code"]), row["note"],
                      AdjustmentState(row["state"]), row["requested_by"], row["requested_key"],
                      row["created_at"], row["decided_by"], row["tx_id"])


async def lock_and_sum_today(conn: asyncpg.Connection, key_id: uuid.UUID, kind: ManualKind,
                             since: dt.datetime) -> int:
    """What this key changed by hand since `since` (pending and applied), holding a lock
    on the key's requests so two concurrent calls cannot both pass the cap."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                       f"manual_adjustments:{key_id}")
    return int(await conn.fetchval(
        "SELECT coalesce(sum(abs(amount)), 0) FROM manual_adjustments WHERE requested_key = $1 "
        "AND kind = $2 AND created_at >= $3 AND state <> 'rejected'", key_id, kind.value, since))


async def add(conn: asyncpg.Connection, a: Adjustment) -> None:
    await conn.execute(
        "INSERT INTO manual_adjustments (id, kind, card_number, member_id, amount, reason_code, "
        "note, state, requested_by, requested_key, created_at, decision_note, tx_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '', $12)",
        a.id, a.kind.value, a.card_number, a.member_id, a.amount, a.reason_code.value, a.note,
        a.state.value, a.requested_by, a.requested_key, a.created_at, a.tx_id)


async def get(conn: asyncpg.Connection, adjustment_id: uuid.UUID, *,
              for_update: bool = False) -> Adjustment | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM manual_adjustments WHERE id = $1"
                              + (" FOR UPDATE" if for_update else ""), adjustment_id)
    return None if row is None else _adjustment(row)


async def decide(conn: asyncpg.Connection, adjustment_id: uuid.UUID, state: AdjustmentState,
                 by: str, key_id: uuid.UUID, note: str, tx_id: uuid.UUID | None,
                 now: dt.datetime) -> Adjustment:
    row = await conn.fetchrow(
        f"UPDATE manual_adjustments SET state = $2, decided_by = $3, decided_key = $4, "
        f"decision_note = $5, tx_id = $6, decided_at = $7 WHERE id = $1 RETURNING {COLUMNS}",
        adjustment_id, state.value, by, key_id, note, tx_id, now)
    assert row is not None
    return _adjustment(row)


async def pending(conn: asyncpg.Connection, after: tuple[dt.datetime, uuid.UUID] | None,
                  limit: int) -> list[Adjustment]:
    """Pending requests, oldest first, after the keyset position `after`."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM manual_adjustments WHERE state = 'pending' "
        "AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2)) "
        "ORDER BY created_at, id LIMIT $3",
        after[0] if after else None, after[1] if after else None, limit)
    return [_adjustment(r) for r in rows]


async def apply(conn: asyncpg.Connection, a: Adjustment, principal: str,
                now: dt.datetime) -> tuple[uuid.UUID, int]:
    """Book the change in the ledger: (transaction id, balance after)."""
    reason = f"{a.reason_code.value}: {a.note}"
    if a.kind is ManualKind.CASH:
        tx_id = await new_tx(conn, "topup", reason=reason, principal=principal)
        return tx_id, await credit_cash(conn, a.member_id, a.amount, tx_id)
    tx_id = await new_tx(conn, "adjust", reason=reason, principal=principal)
    await expire_due_lots(conn, a.member_id, now)  # the balance answered excludes them
    if a.amount > 0:
        return tx_id, await accrue(conn, a.member_id, tx_id, [manual_lot(a.amount, now)], now)
    return tx_id, await spend_points(conn, a.member_id, -a.amount, tx_id, now)


async def current_balance(conn: asyncpg.Connection, kind: ManualKind, member_id: uuid.UUID,
                          now: dt.datetime) -> int:
    """The balance a pending request's answer shows (nothing changed yet)."""
    if kind is ManualKind.CASH:
        return (await cash_balance(conn, member_id))[0]
    return await points_balance(conn, member_id, now)
