"""Points of an online order through the one ledger (docs/ledger.md), in the order's
transaction: reserve = spend (kopilka_spend_points) at placement, release and returns credit
the same lots back (the receipt refund's rule), accrual at completion
(kopilka_accrue_points), returns take accrued points back like a receipt refund does.

Reserved points leave the member's balance at once, so they cannot be spent twice however
many orders or tills race (the spend never overdraws); completion only records that the
reservation became the spend.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from server.accounts.accrual import Lot
from server.db.ledger.refunds import return_spent_points, reverse_accrued_points
from server.db.ledger.repo import (
    accrue,
    card_holder,
    lock_points_accounts,
    new_tx,
    spend_points,
)
from server.orders.model import Order


class SqlOrderMoney:
    """OrderMoney (server/orders/service.py) on one transaction's connection."""

    def __init__(self, conn: asyncpg.Connection, principal: str, now: dt.datetime) -> None:
        self.conn = conn
        self.principal = principal
        self.now = now

    async def reserve(self, order: Order, points: int) -> None:
        assert order.card_number is not None  # the service refuses points without a card
        member_id, _ = await card_holder(self.conn, order.card_number, "customer.card_number")
        tx_id = await new_tx(self.conn, "order_reserve", reason=f"order {order.id}",
                             principal=self.principal)
        await lock_points_accounts(self.conn, member_id)
        await spend_points(self.conn, member_id, points, tx_id, self.now)
        order.reserve_tx_id = tx_id

    async def _give(self, order: Order, points: int, kind: str) -> int:
        assert order.reserve_tx_id is not None
        tx_id = await new_tx(self.conn, kind, reason=f"order {order.id}",
                             principal=self.principal)
        await lock_points_accounts(self.conn, order.member_id)
        return await return_spent_points(self.conn, order.reserve_tx_id, order.member_id,
                                         points, order.lot_returns["returned"], tx_id)

    async def release(self, order: Order, points: int) -> None:
        await self._give(order, points, "order_release")

    async def give_back(self, order: Order, points: int) -> int:
        return await self._give(order, points, "order_return")

    async def accrue(self, order: Order) -> None:
        lots = [Lot(int(points), max(dt.datetime.fromisoformat(act), self.now),
                    dt.datetime.fromisoformat(exp) if exp else None, str(rule))
                for points, act, exp, rule in order.accrual_lots if int(points) > 0]
        if not lots:
            return
        tx_id = await new_tx(self.conn, "order_accrual", reason=f"order {order.id}",
                             principal=self.principal)
        await lock_points_accounts(self.conn, order.member_id)
        await accrue(self.conn, order.member_id, tx_id, lots, self.now)
        order.accrual_tx_id = tx_id
        order.points_accrued = sum(x.points for x in lots)

    async def take_back(self, order: Order, points: int) -> int:
        if order.accrual_tx_id is None:
            return 0
        tx_id = await new_tx(self.conn, "order_return", reason=f"order {order.id}",
                             principal=self.principal)
        await lock_points_accounts(self.conn, order.member_id)
        taken, _ = await reverse_accrued_points(
            self.conn, order.accrual_tx_id, order.member_id, points,
            order.lot_returns["reversed"], tx_id, self.now)
        return taken
