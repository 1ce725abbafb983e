"""Refund intents in SQL (migration 0030), on the session's asyncpg connection, inside the
caller's transaction. The rules are server/payments/refunds.py; the calls across
transactions (claim, provider call, record) are server/features/refunds.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.audit.repo import Change, record
from server.db.payments.repo import SqlPayments
from server.orders.model import Order
from server.payments import refunds as rules
from server.payments.plan import LEDGER_METHODS, Payment, State
from server.payments.refunds import Origin, Refund, RefundState

COLUMNS = ("id, payment_id, order_id, origin, amount_minor, reason, state, provider_status, "
           "attempts, principal_id, request_id, attempted_at, created_at")


def _refund(row: asyncpg.Record) -> Refund:
    return Refund(row["id"], row["payment_id"], row["order_id"], Origin(row["origin"]),
                  row["amount_minor"], row["reason"], RefundState(row["state"]),
                  row["provider_status"], row["attempts"], row["principal_id"],
                  row["request_id"], row["attempted_at"], row["created_at"])


async def reserved(conn: asyncpg.Connection, payment_ids: Sequence[uuid.UUID]
                   ) -> dict[uuid.UUID, int]:
    """What pending intents hold of each payment (lock the payments first)."""
    rows = await conn.fetch(
        "SELECT payment_id, sum(amount_minor) AS held FROM order_payment_refunds "
        "WHERE payment_id = ANY($1) AND state = 'pending' GROUP BY payment_id",
        list(payment_ids))
    return {r["payment_id"]: int(r["held"]) for r in rows}


async def get(conn: asyncpg.Connection, refund_id: uuid.UUID, *, for_update: bool = False
              ) -> Refund | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM order_payment_refunds WHERE id = $1"
                              + (" FOR UPDATE" if for_update else ""), refund_id)
    return None if row is None else _refund(row)


async def _add(conn: asyncpg.Connection, r: Refund, now: dt.datetime) -> None:
    await conn.execute(
        f"INSERT INTO order_payment_refunds ({COLUMNS}, settled_at) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        r.id, r.payment_id, r.order_id, r.origin.value, r.amount_minor, r.reason[:2000],
        r.state.value, r.provider_status[:32], r.attempts, r.principal_id, r.request_id,
        r.attempted_at, now, None if r.state is RefundState.PENDING else now)


async def _settle_row(conn: asyncpg.Connection, r: Refund, now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE order_payment_refunds SET state = $2, provider_status = $3, settled_at = $4, "
        "updated_at = $4 WHERE id = $1", r.id, r.state.value, r.provider_status[:32], now)


async def claim_attempt(conn: asyncpg.Connection, refund_id: uuid.UUID, now: dt.datetime
                        ) -> Refund | None:
    """Take the one provider call of a pending intent (commit before calling); None when it
    was taken already (by a retry, a concurrent caller or the job) or is settled."""
    row = await conn.fetchrow(
        "UPDATE order_payment_refunds SET attempts = attempts + 1, attempted_at = $2, "
        "updated_at = $2 WHERE id = $1 AND state = 'pending' AND attempts = 0 "
        f"RETURNING {COLUMNS}", refund_id, now)
    return None if row is None else _refund(row)


async def unattempted(conn: asyncpg.Connection, *, order_id: uuid.UUID | None = None,
                      created_before: dt.datetime | None = None, limit: int = 100
                      ) -> list[uuid.UUID]:
    """Pending intents never sent (of one order, or written before a time): safe to send."""
    rows = await conn.fetch(
        "SELECT id FROM order_payment_refunds WHERE state = 'pending' AND attempts = 0 "
        "AND ($1::uuid IS NULL OR order_id = $1) "
        "AND ($2::timestamptz IS NULL OR created_at < $2) ORDER BY created_at LIMIT $3",
        order_id, created_before, limit)
    return [r["id"] for r in rows]


async def unknown(conn: asyncpg.Connection, attempted_before: dt.datetime, limit: int
                  ) -> list[uuid.UUID]:
    """Payments with an intent sent before `attempted_before` and never recorded."""
    rows = await conn.fetch(
        "SELECT payment_id FROM order_payment_refunds WHERE state = 'pending' "
        "AND attempts > 0 AND attempted_at < $1 GROUP BY payment_id "
        "ORDER BY min(attempted_at) LIMIT $2", attempted_before, limit)
    return [r["payment_id"] for r in rows]


async def _audit(session: AsyncSession, r: Refund, action: str, before: object,
                 payment: Payment) -> None:
    await record(session, Change("order_payment", str(r.payment_id), action, before, {
        "refund_id": str(r.id), "amount_minor": r.amount_minor, "refund_state": r.state.value,
        "origin": r.origin.value, "refunded_minor": payment.refunded_minor,
        "state": payment.state.value, "provider_status": r.provider_status,
        "reason": r.reason}))


async def open_refund(session: AsyncSession, pay: SqlPayments, payment: Payment, amount: int,
                      origin: Origin, reason: str, member_id: uuid.UUID | None, who: str,
                      now: dt.datetime, principal_id: uuid.UUID | None = None,
                      request_id: uuid.UUID | None = None) -> Refund:
    """Transaction 1 of a refund (the payment locked, `amount` checked by the caller): a
    ledger payment is given back now (the intent born done); a provider payment gets a
    pending intent reserving the amount, sent after commit."""
    r = Refund(uuid.uuid4(), payment.id, payment.order_id, origin, amount, reason,
               principal_id=principal_id, request_id=request_id)
    before = {"refunded_minor": payment.refunded_minor, "state": payment.state.value}
    if payment.method in LEDGER_METHODS:
        assert member_id is not None  # a ledger payment is the order's member's
        await pay.give_back(payment, amount, member_id, who, now)
        rules.record_done(payment, amount)
        await pay.save(payment)
        r.state, r.provider_status = RefundState.DONE, "ledger"
    await _add(pay.conn, r, now)
    await _audit(session, r, "refund" if r.state is RefundState.DONE else "refund_requested",
                 before, payment)
    return r


async def record_outcome(session: AsyncSession, refund_id: uuid.UUID, done: bool,
                         provider_status: str, now: dt.datetime, via: str) -> Refund:
    """Transaction 2: what the provider said, once (a settled intent is left alone). Done
    counts the amount on the payment; failed releases it, and a RefundPayment's request id
    may then be used again (its first answer is forgotten: nothing was refunded)."""
    pay = await SqlPayments.of(session)
    peek = await get(pay.conn, refund_id)
    assert peek is not None
    payment = await pay.payment(peek.payment_id, for_update=True)
    r = await get(pay.conn, refund_id, for_update=True)
    assert payment is not None and r is not None
    if r.state is not RefundState.PENDING:
        return r
    before = {"refunded_minor": payment.refunded_minor, "state": payment.state.value}
    r.state = RefundState.DONE if done else RefundState.FAILED
    r.provider_status = provider_status
    if done:
        rules.record_done(payment, r.amount_minor)
        payment.provider_status = provider_status[:32]
        await pay.save(payment)
    elif r.origin is Origin.REFUND and r.principal_id and r.request_id:
        await pay.conn.execute(
            "DELETE FROM idempotency_records WHERE principal_id = $1 AND request_id = $2",
            r.principal_id, r.request_id)
    await _settle_row(pay.conn, r, now)
    await _audit(session, r, f"refund_{r.state.value}_{via}", before, payment)
    return r


async def pending_of_payment(conn: asyncpg.Connection, payment_id: uuid.UUID) -> list[Refund]:
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM order_payment_refunds WHERE payment_id = $1 "
        "AND state = 'pending' AND attempts > 0 ORDER BY created_at FOR UPDATE", payment_id)
    return [_refund(r) for r in rows]


async def cancel_payments(session: AsyncSession, order_id: uuid.UUID, member_id: uuid.UUID,
                          who: str, now: dt.datetime, reason: str,
                          principal_id: uuid.UUID | None = None,
                          request_id: uuid.UUID | None = None) -> list[Refund]:
    """The order was cancelled (same transaction): ledger payments back to their source,
    provider payments get refund intents (sent after commit), unpaid checkouts cancelled."""
    pay = await SqlPayments.of(session)
    payments = [p for p in await pay.payments_of(order_id)]
    locked = [await pay.payment(p.id, for_update=True) for p in payments]
    held = await reserved(pay.conn, [p.id for p in payments])
    out = []
    for step in rules.cancel_steps([p for p in locked if p is not None], held):
        p = step.payment
        if step.cancel:
            before = p.state
            p.state = State.CANCELLED
            await pay.save(p)
            await record(session, Change("order_payment", str(p.id), "cancel",
                                         {"state": before.value},
                                         {"state": p.state.value, "reason": reason}))
            continue
        out.append(await open_refund(session, pay, p, step.give_back or step.refund,
                                     Origin.CANCEL, reason, member_id, who, now,
                                     principal_id, request_id))
    return out


@dataclass(frozen=True, slots=True)
class SqlOrderPayments:
    """The order service's `OrderPayments` port: a cancel refunds in its own transaction
    (ledger at once, card intents sent after commit by the door or the jobs pass)."""

    session: AsyncSession
    who: str
    now: dt.datetime
    principal_id: uuid.UUID | None = None

    async def order_cancelled(self, order: Order, reason: str) -> None:
        await cancel_payments(self.session, order.id, order.member_id, self.who, self.now,
                              reason or "order cancelled", self.principal_id)
