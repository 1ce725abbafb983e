"""Points of an online order through the one ledger (docs/ledger.md), in the order's
transaction: reserve = spend (kopilka_spend_points) at placement, release and returns credit
the same lots back (the receipt refund's rule), accrual at completion
(kopilka_accrue_points), returns take accrued points back like a receipt refund does; an
exchange's difference moves points, cash-account money or a gift certificate's balance.

Reserved points leave the member's balance at once, so they cannot be spent twice however
many orders or tills race (the spend never overdraws); completion only records that the
reservation became the spend.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual import Lot
from server.db.certificates.payments import pay_with_certificate, refund_to_certificate
from server.db.ledger.cash import credit_cash, pay_from_cash
from server.db.ledger.refunds import return_spent_points, reverse_accrued_points
from server.db.ledger.repo import (
    accrue,
    card_holder,
    lock_points_accounts,
    new_tx,
    points_balance,
    spend_points,
)
from server.db.pricing.context import CardPricingContext
from server.db.verification.uses import verify_spend
from server.orders.model import Order
from server.verification.model import Operation
from server.verification.tokens import TokenCheck


async def with_locked_balance(conn: asyncpg.Connection, card: CardPricingContext,
                              now: dt.datetime) -> CardPricingContext:
    """The card's context with the member's spendable points read under the lock of their
    points accounts (taken here, held to the transaction's end). An order priced with it asks
    the ledger for no more than the ledger has, so orders racing for the same points place
    one after the other, each capped by what the earlier ones left (docs/orders.md)."""
    if card.member_id is None:
        return card
    await lock_points_accounts(conn, card.member_id)
    return dataclasses.replace(card, member=dataclasses.replace(
        card.member, points_balance=await points_balance(conn, card.member_id, now)))


class SqlOrderMoney:
    """OrderMoney (server/orders/service.py) on one transaction's connection."""

    def __init__(self, conn: asyncpg.Connection, principal: str, now: dt.datetime,
                 session: AsyncSession | None = None,
                 verification: TokenCheck | None = None) -> None:
        self.conn = conn
        self.principal = principal
        self.now = now
        self.session = session  # the same transaction, for certificate settlements
        self.verification = verification  # the request's token (None: no door gave one)

    async def reserve(self, order: Order, points: int) -> None:
        """Spend `points` for the order; a card whose type requires verification spends
        only with the request's token for this spend (used once), as at the till."""
        assert order.card_number is not None  # the service refuses points without a card
        member_id = await self._verified(order, Operation.PLACE_ORDER, points,
                                         "customer.card_number")
        tx_id = await new_tx(self.conn, "order_reserve", reason=f"order {order.id}",
                             principal=self.principal)
        await lock_points_accounts(self.conn, member_id)
        await spend_points(self.conn, member_id, points, tx_id, self.now)
        order.reserve_tx_id = tx_id

    async def _verified(self, order: Order, operation: Operation, amount: int,
                        card_field: str) -> uuid.UUID:
        """The card's member; a card whose type requires verification spends only with the
        request's token for this spend (used once, in this transaction)."""
        if order.card_number is None:
            return order.member_id
        member_id, needs_token = await card_holder(self.conn, order.card_number, card_field)
        if needs_token:
            await verify_spend(self.conn, self.verification, order.card_number, operation,
                               amount, self.now)
        return member_id

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

    def _lots(self, raw: list[list[object]]) -> list[Lot]:
        return [Lot(int(str(points)), max(dt.datetime.fromisoformat(str(act)), self.now),
                    dt.datetime.fromisoformat(str(exp)) if exp else None, str(rule))
                for points, act, exp, rule in raw if int(str(points)) > 0]

    async def accrue(self, order: Order) -> None:
        lots = self._lots(order.accrual_lots)
        if not lots:
            return
        tx_id = await new_tx(self.conn, "order_accrual", reason=f"order {order.id}",
                             principal=self.principal)
        await lock_points_accounts(self.conn, order.member_id)
        await accrue(self.conn, order.member_id, tx_id, lots, self.now)
        order.accrual_tx_id = tx_id
        order.points_accrued = sum(x.points for x in lots)

    async def accrue_lots(self, order: Order, raw: list[list[object]]) -> int:
        """The accrual of lines handed over in an exchange (booked at once)."""
        lots = self._lots(raw)
        if not lots:
            return 0
        tx_id = await new_tx(self.conn, "order_accrual", reason=f"order {order.id} exchange",
                             principal=self.principal)
        await lock_points_accounts(self.conn, order.member_id)
        await accrue(self.conn, order.member_id, tx_id, lots, self.now)
        if order.accrual_tx_id is None:
            order.accrual_tx_id = tx_id
        return sum(x.points for x in lots)

    async def settle(self, order: Order, amount: int, method: str,
                     certificate_number: str | None = None) -> None:
        """An exchange's difference: > 0 the customer pays it, < 0 gets it back; from or to
        points, the cash account or a gift certificate; "payment" moves nothing here (the
        shop takes or refunds it, e.g. through LiqPay or RefundPayment) and is kept in the
        history only."""
        if method == "payment":
            return
        if method == "certificate":
            assert certificate_number is not None
            await self._settle_certificate(order, amount, certificate_number)
            return
        if amount > 0:  # the member's own money pays: their code, as at a till
            await self._verified(order, Operation.EXCHANGE_ORDER, amount, "settlement")
        tx_id = await new_tx(self.conn, "order_exchange", reason=f"order {order.id}",
                             principal=self.principal)
        if method == "points":
            await lock_points_accounts(self.conn, order.member_id)
            if amount > 0:
                await spend_points(self.conn, order.member_id, amount, tx_id, self.now)
            else:
                await accrue(self.conn, order.member_id, tx_id,
                             [Lot(-amount, self.now, None, "order_exchange")], self.now)
        elif amount > 0:
            await pay_from_cash(self.conn, order.member_id, amount, tx_id)
        else:
            await credit_cash(self.conn, order.member_id, -amount, tx_id)

    async def _settle_certificate(self, order: Order, amount: int, number: str) -> None:
        """The certificate ledger's own spend and refund (server/db/certificates/payments.py:
        the one conditional UPDATE and its entry), keyed by the order: a refund gives back
        at most what the certificate paid in this order's exchanges."""
        assert self.session is not None, "a certificate settlement needs the session"
        if amount > 0:
            await pay_with_certificate(self.session, number=number, amount_minor=amount,
                                       receipt_id=order.id, store_code=order.store_code,
                                       currency=order.currency, now=self.now)
        else:
            await refund_to_certificate(self.session, number=number, amount_minor=-amount,
                                        receipt_id=order.id, now=self.now)

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
