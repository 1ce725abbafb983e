"""Refunds and cancellations of booked receipts (booking itself: server/db/ledger/store.py).

Points go back through the ledger's functions (migration 0013) like every other movement;
what is refunded of which line and payment is kept on the receipt's details, so partial
refunds add up and never exceed what was sold."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.allocation import allocate
from server.accounts.refund import SoldLine, plan_refund, split_refund, withhold
from server.db.ledger.cash import credit_cash
from server.db.ledger.repo import (
    change_balance,
    expire_due_lots,
    lock_points_accounts,
    member_account_id,
    new_tx,
    points_balance,
    raw_connection,
    spend_points,
)
from server.errors import DomainError, ErrorKind, not_found
from server.ledger.model import WITHHOLD_ORDER


@dataclass(slots=True)
class Refunded:
    """What a refund or cancellation returned."""

    state: str
    currency: str
    money_minor: int = 0
    points_reversed: int = 0
    points_returned: int = 0
    shortfall: int = 0
    payment_refunds: list[tuple[str, int, str]] = field(default_factory=list)


def _json(value: Any) -> Any:
    """jsonb as Python: SQLAlchemy's connection setup decodes it, a bare one does not."""
    return json.loads(value) if isinstance(value, str) else value


async def _locked_receipt(conn: asyncpg.Connection, receipt_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT d.*, r.state, r.member_id, r.currency FROM receipt_details d "
        "JOIN receipts r ON r.id = d.receipt_id WHERE d.receipt_id = $1 FOR UPDATE OF d, r",
        receipt_id)
    if row is None:
        raise not_found("receipt", str(receipt_id), "RECEIPT_NOT_FOUND")
    return row


async def _reverse_accrual(conn: asyncpg.Connection, row: Mapping[str, Any] | asyncpg.Record,
                           member_id: uuid.UUID,
                           points: int, reversed_: dict[str, int], tx_id: uuid.UUID,
                           result: Refunded, now: dt.datetime) -> None:
    lots = await conn.fetch(
        "SELECT id, points_initial, points_left, state FROM point_lots "
        "WHERE receipt_id IS NOT DISTINCT FROM $1 AND tx_id = $2 ORDER BY id FOR UPDATE",
        row["receipt_id"], row["tx_id"])
    weights = [x["points_initial"] - reversed_.get(str(x["id"]), 0) for x in lots]
    unmet = 0
    for lot, share in zip(lots, allocate(points, weights) if lots else [], strict=True):
        if not share:
            continue
        reversed_[str(lot["id"])] = reversed_.get(str(lot["id"]), 0) + share
        if lot["state"] == "expired":
            continue  # the points are gone already; nothing was spent from them
        take = min(share, lot["points_left"])
        unmet += share - take
        if take:
            await conn.execute("UPDATE point_lots SET points_left = points_left - $2 "
                               "WHERE id = $1", lot["id"], take)
            await conn.execute("INSERT INTO lot_movements (tx_id, lot_id, points) "
                               "VALUES ($1, $2, $3)", tx_id, lot["id"], -take)
            kind = "points" if lot["state"] == "active" else "points_pending"
            await change_balance(conn, await member_account_id(conn, member_id, kind),
                                 -take, tx_id)
            result.points_reversed += take
    if unmet:  # already spent: take the rest from other points, withhold what is missing
        extra = min(unmet, await points_balance(conn, member_id, now))
        if extra:
            await spend_points(conn, member_id, extra, tx_id, now)
            result.points_reversed += extra
        result.shortfall = unmet - extra


async def _return_redeemed(conn: asyncpg.Connection, row: Mapping[str, Any] | asyncpg.Record,
                           member_id: uuid.UUID,
                           points: int, returned: dict[str, int], tx_id: uuid.UUID,
                           result: Refunded) -> None:
    spent = await conn.fetch(
        "SELECT l.id, -m.points AS spent, l.state FROM lot_movements m "
        "JOIN point_lots l ON l.id = m.lot_id WHERE m.tx_id = $1 AND m.points < 0 "
        "ORDER BY l.id FOR UPDATE OF l", row["tx_id"])
    weights = [x["spent"] - returned.get(str(x["id"]), 0) for x in spent]
    credited = 0
    for lot, share in zip(spent, allocate(points, weights) if spent else [], strict=True):
        if not share:
            continue
        returned[str(lot["id"])] = returned.get(str(lot["id"]), 0) + share
        if lot["state"] != "active":
            continue  # the lot expired meanwhile: these points would have expired too
        await conn.execute("UPDATE point_lots SET points_left = points_left + $2 WHERE id = $1",
                           lot["id"], share)
        await conn.execute("INSERT INTO lot_movements (tx_id, lot_id, points) "
                           "VALUES ($1, $2, $3)", tx_id, lot["id"], share)
        credited += share
    if credited:
        await change_balance(conn, await member_account_id(conn, member_id, "points"),
                             credited, tx_id)
    result.points_returned = credited


async def return_spent_points(conn: asyncpg.Connection, spend_tx: uuid.UUID,
                              member_id: uuid.UUID, points: int, returned: dict[str, int],
                              tx_id: uuid.UUID) -> int:
    """Credit `points` spent under `spend_tx` back to the lots they came from (an online
    order's release or return: the same rule as a receipt's refund); `returned` keeps what
    each lot got back so far. The points credited (a lot expired meanwhile gets none)."""
    result = Refunded("", "")
    await _return_redeemed(conn, {"tx_id": spend_tx}, member_id, points, returned, tx_id,
                           result)
    return result.points_returned


async def reverse_accrued_points(conn: asyncpg.Connection, accrual_tx: uuid.UUID,
                                 member_id: uuid.UUID, points: int, reversed_: dict[str, int],
                                 tx_id: uuid.UUID, now: dt.datetime) -> tuple[int, int]:
    """Take back `points` accrued under `accrual_tx` (no receipt), as a receipt's refund
    does: from its lots first, then other points; (taken back, withheld shortfall)."""
    result = Refunded("", "")
    await _reverse_accrual(conn, {"receipt_id": None, "tx_id": accrual_tx}, member_id, points,
                           reversed_, tx_id, result, now)
    return result.points_reversed, result.shortfall


async def refund_receipt(
    session: AsyncSession, receipt_id: uuid.UUID, request: list[tuple[int, int]] | None,
    principal: str, now: dt.datetime, *, cancel: bool = False, reason: str = "",
) -> Refunded:
    """Refund lines (None: everything left) or cancel; reverses points and money exactly."""
    conn = await raw_connection(session)
    row = await _locked_receipt(conn, receipt_id)
    if row["state"] == "cancelled":
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "RECEIPT_CANCELLED",
                          "the receipt is cancelled")
    if cancel and row["state"] != "confirmed":
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "RECEIPT_NOT_CANCELLABLE",
                          f"a {row['state'].replace('_', ' ')} receipt cannot be cancelled; "
                          "refund what is left instead")
    state = _json(row["refunded"])
    lines = [SoldLine(x["line_no"], x["quantity_milli"], x["final_amount_minor"],
                      x["accrual_points"], x["points_discount_minor"])
             for x in _json(row["lines"])]
    done = {int(k): v for k, v in state.get("lines", {}).items()}
    plan = plan_refund(lines, done, request)
    tx_id = await new_tx(conn, "cancel" if cancel else "refund", receipt_id=receipt_id,
                         reason=reason, principal=principal)
    result = Refunded("cancelled" if cancel else
                      ("refunded" if plan.complete else "partially_refunded"), row["currency"])
    member_id = row["member_id"]
    reversed_, returned = state.get("reversed", {}), state.get("returned", {})
    if member_id is not None and (plan.accrual_points or plan.points_returned):
        await lock_points_accounts(conn, member_id)
        await expire_due_lots(conn, member_id, now)
        if plan.accrual_points:
            await _reverse_accrual(conn, row, member_id, plan.accrual_points, reversed_, tx_id,
                                   result, now)
        if plan.points_returned:
            await _return_redeemed(conn, row, member_id, plan.points_returned, returned, tx_id,
                                   result)
    payments = _json(row["payments"])
    paid_back = state.get("payments", [0] * len(payments))
    gross = split_refund(plan.money_minor, [p["a"] - r for p, r in zip(payments, paid_back,
                                                                      strict=True)])
    result.shortfall = min(result.shortfall, plan.money_minor)
    order = sorted(range(len(payments)), key=lambda i: WITHHOLD_ORDER.index(payments[i]["m"]))
    net = withhold(gross, order, result.shortfall)
    for payment, amount in zip(payments, net, strict=True):
        if not amount:
            continue
        if payment["m"] == "cash_account":
            await credit_cash(conn, member_id, amount, tx_id)
        elif payment["m"] == "certificate":
            from server.db.certificates.payments import refund_to_certificate

            await refund_to_certificate(session, number=payment["c"], amount_minor=amount,
                                        receipt_id=receipt_id, now=now)
        result.payment_refunds.append((payment["m"], amount, payment["c"]))
    result.money_minor = sum(net)
    new_state = {"lines": {str(k): v for k, v in plan.refunded_after.items()},
                 "payments": [r + g for r, g in zip(paid_back, gross, strict=True)],
                 "reversed": reversed_, "returned": returned}
    await conn.execute("UPDATE receipt_details SET refunded = $2::jsonb WHERE receipt_id = $1",
                       receipt_id, json.dumps(new_state))
    await conn.execute("UPDATE receipts SET state = $2 WHERE id = $1", receipt_id, result.state)
    return result
