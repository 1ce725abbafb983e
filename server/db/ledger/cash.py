"""Cash accounts: top-up, payment, balance, and master accounts pooling several members.

A pooled member's own cash account keeps balance 0 and points at its master
(`master_id`); every payment or top-up of the member goes to the master account.
"""

from __future__ import annotations

import uuid

import asyncpg

from server.db.ledger import sql as q
from server.db.ledger.repo import change_balance, insufficient, member_account_id
from server.errors import DomainError, ErrorKind, invalid


async def cash_target(conn: asyncpg.Connection, member_id: uuid.UUID) -> int:
    """The account that holds the member's cash: its master account when pooled."""
    own = await member_account_id(conn, member_id, "cash")
    return int(await conn.fetchval(
        "SELECT coalesce(master_id, id) FROM ledger_accounts WHERE id = $1", own))


async def cash_balance(conn: asyncpg.Connection, member_id: uuid.UUID) -> tuple[int, int | None]:
    """(balance, master account id or None) of a member's cash."""
    row = await conn.fetchrow(
        "SELECT coalesce(m.balance, a.balance) AS balance, a.master_id FROM ledger_accounts a "
        "LEFT JOIN ledger_accounts m ON m.id = a.master_id "
        "WHERE a.member_id = $1 AND a.kind = 'cash'", member_id)
    return (0, None) if row is None else (int(row["balance"]), row["master_id"])


async def pay_from_cash(conn: asyncpg.Connection, member_id: uuid.UUID, amount: int,
                        tx_id: uuid.UUID) -> int:
    """Debit the member's cash (or master) account; INSUFFICIENT_FUNDS when short."""
    balance = await conn.fetchval(q.PAY_CASH, member_id, amount, tx_id)
    if balance is None:
        raise insufficient("funds", (await cash_balance(conn, member_id))[0])
    return int(balance)


async def credit_cash(conn: asyncpg.Connection, member_id: uuid.UUID, amount: int,
                      tx_id: uuid.UUID) -> int:
    """Credit the member's cash (or master) account; the new balance."""
    return await change_balance(conn, await cash_target(conn, member_id), amount, tx_id)


async def pool_accounts(conn: asyncpg.Connection, master_id: int | None,
                        member_ids: list[uuid.UUID], tx_id: uuid.UUID) -> tuple[int, int]:
    """Join members' cash accounts to a master (new when None), moving their funds in."""
    if master_id is None:
        master_id = int(await conn.fetchval(
            "INSERT INTO ledger_accounts (kind, balance) VALUES ('cash_master', 0) RETURNING id"))
    else:
        kind = await conn.fetchval(
            "SELECT kind FROM ledger_accounts WHERE id = $1 FOR UPDATE", master_id)
        if kind != "cash_master":
            raise DomainError(ErrorKind.NOT_FOUND, "MASTER_ACCOUNT_NOT_FOUND",
                              f"no master account {master_id}",
                              metadata={"key": str(master_id)})
    balance = int(await conn.fetchval(
        "SELECT balance FROM ledger_accounts WHERE id = $1 FOR UPDATE", master_id))
    for index, member_id in enumerate(member_ids):
        own = await member_account_id(conn, member_id, "cash")
        row = await conn.fetchrow(
            "SELECT balance, master_id FROM ledger_accounts WHERE id = $1 FOR UPDATE", own)
        if row is None:  # member_account_id just made or found it, in this transaction
            raise RuntimeError(f"cash account {own} vanished")
        if row["master_id"] == master_id:
            continue
        if row["master_id"] is not None:
            raise invalid(f"card_numbers[{index}]", "its cash account is already pooled "
                          "into another master account", "CASH_ACCOUNT_ALREADY_POOLED")
        if row["balance"]:
            await change_balance(conn, own, -row["balance"], tx_id)
            balance = await change_balance(conn, master_id, row["balance"], tx_id)
        await conn.execute("UPDATE ledger_accounts SET master_id = $2 WHERE id = $1",
                           own, master_id)
    return master_id, balance
