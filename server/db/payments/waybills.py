"""Nova Poshta waybills of orders: stored rows, the events and customer messages of their
changes, and the tracking job that moves orders by what Nova Poshta reports.

A waybill received completes the order once every live waybill of it is received (the order
service's own `complete`: reserved points spent, points accrued); refused or returned cancels
it (`cancel`: points released). Cash on delivery is paid when received and failed otherwise.
The customer hears of it: the order service's message when the order's state changes, else
a delivery message; and every change is a `web_order.delivery_changed` event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.actor import current_actor
from server.db.audit.repo import Change, record
from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.db.models import Member
from server.db.orders.money import SqlOrderMoney
from server.db.orders.notify import EMAIL_CHANNEL, SqlNotifier
from server.db.orders.repo import SqlOrderRepository
from server.db.outbox.repo import emit, enqueue_message
from server.db.payments import refunds
from server.db.payments.repo import SqlPayments
from server.db.verification.repo import SMS_CHANNEL
from server.events.schema import new_event
from server.orders import actions, service
from server.orders.model import Order, OrderState
from server.payments.plan import Method, State
from server.plugin_api import ShipmentState, TrackingInfo

COLUMNS = "id, order_id, entity_code, number, ref, state, status_code, cod_minor, seats"
BATCH = 100
LIVE = ("created",)  # states Nova Poshta may still move
DELIVERY_TEXT = {
    "received": "Замовлення {n}: відправлення {w} отримано. Дякуємо!",
    "refused": "Замовлення {n}: від відправлення {w} відмовились, його повернуть продавцю.",
    "returned": "Замовлення {n}: відправлення {w} повертається продавцю.",
}


@dataclass(slots=True)
class Waybill:
    id: uuid.UUID
    order_id: uuid.UUID
    entity_code: str
    number: str
    ref: str
    state: str
    status_code: str
    cod_minor: int
    seats: int = 1


def _row(r: asyncpg.Record) -> Waybill:
    return Waybill(**dict(r))


async def of_order(conn: asyncpg.Connection, order_id: uuid.UUID) -> list[Waybill]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM waybills WHERE order_id = $1 "
                            "ORDER BY entity_code, created_at", order_id)
    return [_row(r) for r in rows]


async def get(conn: asyncpg.Connection, waybill_id: uuid.UUID, *, for_update: bool = False
              ) -> Waybill | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM waybills WHERE id = $1"
                              + (" FOR UPDATE" if for_update else ""), waybill_id)
    return None if row is None else _row(row)


async def add(conn: asyncpg.Connection, w: Waybill) -> None:
    await conn.execute(f"INSERT INTO waybills ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, "
                       "$7, $8, $9)", w.id, w.order_id, w.entity_code, w.number, w.ref,
                       w.state, w.status_code, w.cod_minor, w.seats)


async def save(conn: asyncpg.Connection, w: Waybill) -> None:
    await conn.execute("UPDATE waybills SET state = $2, status_code = $3, updated_at = now() "
                       "WHERE id = $1", w.id, w.state, w.status_code)


async def changed(session: AsyncSession, order: Order, w: Waybill, before: str | None,
                  message: bool) -> None:
    """The audit row, the event and (when `message`) the customer's delivery message."""
    await record(session, Change("waybill", str(w.id), w.state,
                                 None if before is None else {"state": before},
                                 {"state": w.state, "number": w.number,
                                  "status_code": w.status_code}))
    await emit(session, new_event(
        "web_order.delivery_changed", order_id=order.id, external_number=order.external_number,
        member_id=order.member_id, entity_code=w.entity_code, waybill_number=w.number,
        state=w.state, status_code=w.status_code))
    text = DELIVERY_TEXT.get(w.state)
    if not message or text is None:
        return
    from sqlalchemy import select

    row = (await session.execute(select(Member.phone, Member.email)
                                 .where(Member.id == order.member_id))).one()
    body = text.format(n=order.external_number, w=w.number)
    if row.phone:
        await enqueue_message(session, channel=SMS_CHANNEL, recipient=row.phone, text=body,
                              reference=f"waybill:{w.id}")
    elif row.email:
        await enqueue_message(session, channel=EMAIL_CHANNEL, recipient=row.email, text=body,
                              subject=f"Замовлення {order.external_number}",
                              reference=f"waybill:{w.id}")


def _no_pricing(order: Order, points: int) -> int:
    raise RuntimeError("delivery never changes lines, so it never prices")


def new_state(info: TrackingInfo) -> str | None:
    """The waybill's state for a tracking answer, or None while it is on its way."""
    if info.state is ShipmentState.RECEIVED:
        return "received"
    if info.state is ShipmentState.REFUSED:
        return "returned" if info.provider_status == "105" else "refused"
    return None


Track = Callable[[Sequence[str]], Awaitable[list[TrackingInfo]]]


async def track_due(db: Database, track: Track, now: dt.datetime) -> int:
    """Ask Nova Poshta about live waybills; move each one it reports final. How many moved."""
    async with db.transaction() as session:
        conn = await raw_connection(session)
        rows = await conn.fetch(f"SELECT {COLUMNS} FROM waybills WHERE state = ANY($1) "
                                "ORDER BY updated_at LIMIT $2", list(LIVE), BATCH)
    live = [_row(r) for r in rows]
    if not live:
        return 0
    infos = {i.tracking_number: i for i in await track([w.number for w in live])}
    moved = 0
    for w in live:
        info = infos.get(w.number)
        target = None if info is None else new_state(info)
        if info is None or target is None:
            continue
        async with db.transaction() as session:
            conn = await raw_connection(session)
            repo = SqlOrderRepository(conn)
            order = await repo.lock(w.order_id)
            current = await get(conn, w.id, for_update=True)
            if order is None or current is None or current.state not in LIVE:
                continue
            current.state, current.status_code = target, info.provider_status
            await save(conn, current)
            await _cash_on_delivery(session, order, current, target == "received")
            state_before = order.state
            await _move_order(session, repo, order, current, now)
            await changed(session, order, current, "created",
                          message=order.state is state_before)
            moved += 1
    return moved


async def _cash_on_delivery(session: AsyncSession, order: Order, w: Waybill,
                            received: bool) -> None:
    pay = await SqlPayments.of(session)
    for p in await pay.payments_of(order.id):
        if p.method is Method.CASH_ON_DELIVERY and p.entity_code == w.entity_code \
                and p.state is State.PENDING:
            before = p.state
            p.state = State.PAID if received else State.FAILED
            p.provider_status = f"novaposhta:{w.status_code}"
            await pay.save(p)
            await record(session, Change("order_payment", str(p.id), "cash_on_delivery",
                                         {"state": before.value}, {"state": p.state.value}))


async def _move_order(session: AsyncSession, repo: SqlOrderRepository, order: Order,
                      w: Waybill, now: dt.datetime) -> None:
    """Complete the order when all its live waybills arrived; cancel it when one came back."""
    who = current_actor().label
    # a cancel refunds the payments: ledger ones now, card refunds by the jobs pass's
    # refunds_settled step (server/features/refunds.py)
    ports = service.Ports(repo, SqlOrderMoney(repo.conn, who, now), SqlNotifier(session),
                          _no_pricing, who, refunds.SqlOrderPayments(session, who, now))
    if w.state == "received":
        others = [x for x in await of_order(repo.conn, order.id)
                  if x.state not in ("deleted", "received")]
        if others or order.state is not OrderState.CONFIRMED:
            return
        outcome = await service.act(ports, order.id, None, f"received at Nova Poshta "
                                    f"({w.number})", actions.complete)
    elif order.state in (OrderState.PLACED, OrderState.CONFIRMED):
        outcome = await service.act(ports, order.id, None, f"{w.state} at Nova Poshta "
                                    f"({w.number})", actions.cancel)
    else:
        return
    order.state = outcome.order.state
    await record(session, Change("web_order", str(order.id), f"delivery_{w.state}",
                                 None, {"state": order.state.value,
                                        "version": outcome.order.version}))
