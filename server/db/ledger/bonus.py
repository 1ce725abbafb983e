"""Points and cash operations outside receipts: balance, adjust, lists, conversion.

RedeemBonus itself is one call of the ledger store: server/db/ledger/store.py."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from server.accounts.accrual import Lot
from server.db.ledger.repo import points_balance
from server.errors import DomainError, ErrorKind, invalid, not_found


async def member_of_card(conn: asyncpg.Connection, card_number: str, field_path: str
                         ) -> uuid.UUID:
    """The member a card belongs to, whatever the card's state (for operators and reads)."""
    if not card_number:
        raise invalid(field_path, "required")
    row = await conn.fetchrow("SELECT member_id FROM cards WHERE number = $1", card_number)
    if row is None:
        raise not_found("card", card_number, "CARD_NOT_FOUND")
    if row["member_id"] is None:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_NOT_ASSIGNED",
                          "the card belongs to no member")
    member: uuid.UUID = row["member_id"]
    return member


async def members_of_cards(conn: asyncpg.Connection, numbers: list[str], field_path: str
                           ) -> list[uuid.UUID]:
    """Distinct members of the cards, in order; unknown or unassigned cards named by index."""
    rows = {r["number"]: r["member_id"] for r in await conn.fetch(
        "SELECT number, member_id FROM cards WHERE number = ANY($1::text[])", numbers)}
    from server.errors import Violations

    errors = Violations()
    members: dict[uuid.UUID, None] = {}
    for i, number in enumerate(numbers):
        if number not in rows:
            errors.add(f"{field_path}[{i}]", "no such card")
        elif rows[number] is None:
            errors.add(f"{field_path}[{i}]", "the card belongs to no member")
        else:
            members[rows[number]] = None
    errors.raise_if_any()
    return list(members)


@dataclass(frozen=True, slots=True)
class Balance:
    """A member's balances and open lots (oldest-expiring first)."""

    available: int
    pending: int
    cash: int
    master_id: int | None
    lots: list[tuple[int, dt.datetime, dt.datetime | None]]


async def balance_of(conn: asyncpg.Connection, member_id: uuid.UUID,
                     now: dt.datetime) -> Balance:
    """Balances as the member may use them at `now`: lots past their expiry time are left out
    whether or not the expiry job has run yet."""
    from server.db.ledger.cash import cash_balance

    kinds = {r["kind"]: int(r["balance"]) for r in await conn.fetch(
        "SELECT kind, balance FROM ledger_accounts WHERE member_id = $1", member_id)}
    cash, master = await cash_balance(conn, member_id)
    lots = [(int(r["points_left"]), r["activation_at"], r["expiry_at"]) for r in await conn.fetch(
        "SELECT points_left, activation_at, expiry_at FROM point_lots WHERE member_id = $1 "
        "AND state IN ('active', 'pending') AND points_left > 0 "
        "AND (expiry_at IS NULL OR expiry_at > $2) "
        "ORDER BY expiry_at ASC NULLS LAST, activation_at, id", member_id, now)]
    return Balance(await points_balance(conn, member_id, now), kinds.get("points_pending", 0),
                   cash, master, lots)


def manual_lot(points: int, now: dt.datetime, activation: dt.datetime | None = None,
               expiry: dt.datetime | None = None, rule_id: str = "manual") -> Lot:
    """A lot created by an operator or a conversion: active now unless scheduled."""
    return Lot(points, activation or now, expiry, rule_id)
