"""The shared part of OrderService's servicer (server/api/servicers/orders.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message
from kopilka.v1 import orders_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.order_pricing import order_pricer
from server.api.scope import (
    may_act_on,
    session_networks,
)
from server.api.servicers.orders_pb import OP, order_to_pb
from server.api.verification_spend import calling_key
from server.audit.actor import Actor
from server.db.audit.repo import Change, record
from server.db.orders import requests as request_repo
from server.db.orders.money import SqlOrderMoney
from server.db.orders.notify import SqlNotifier
from server.db.orders.repo import ProductNames, SqlOrderRepository
from server.db.payments.refunds import SqlOrderPayments
from server.db.pricing.context import CardPricingContext, load_card_context
from server.errors import not_found
from server.features import refunds as refund_flow
from server.orders import actions, service
from server.orders.model import (
    Order,
    OrderState,
)
from server.orders.service import Outcome, Ports
from server.verification.tokens import TokenCheck

SERVICE = "/kopilka.v1.OrderService/"
LINK_PATH = "/orders/alternatives/"  # server/features/order_links.py serves it
CUSTOMER_LINK = Actor("customer:link")  # who accepted an alternative by its signed link
R = TypeVar("R", bound=Message)


class OrderServicerBase(orders_pb2_grpc.OrderServiceServicer):
    """What every group of OrderService's calls shares: the card's pricing context, the
    ports of one transaction, the scope check, the answer, and an action's run."""

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self._product_names = ProductNames()  # the one-call placement's

    # --- shared -----------------------------------------------------------------------

    async def _card_context(self, card_number: str | None, now: dt.datetime
                            ) -> CardPricingContext | None:
        if not card_number:
            return None
        snap = self.deps.pricing.snapshot
        return await load_card_context(
            self.deps.ledger_pool, card_number, time_zone=str(snap.rules.timezone),
            history_days=snap.rules.history_days, promotions=snap.rules.tracked_promotions,
            now=now)

    def _token_check(self, token: str, request_id: uuid.UUID) -> TokenCheck:
        """A request's verification token as the money port checks and uses it (the calling
        key is the party it must have been asked for)."""
        return TokenCheck(self.deps.signer, token, calling_key(), request_id)

    def _ports(self, session_conn: SqlOrderRepository, session: AsyncSession,
               card: CardPricingContext | None, moment: dt.datetime,
               principal: str | None = None, verification: TokenCheck | None = None) -> Ports:
        key = None if principal else caller().key_id  # a door without an RPC names itself
        who = principal or caller().label
        now = self.deps.clock()
        return Ports(session_conn, SqlOrderMoney(session_conn.conn, who, now, session,
                                                 verification),
                     SqlNotifier(session), order_pricer(self.deps.pricing.snapshot, card,
                                                        moment), who,
                     SqlOrderPayments(session, who, now, key))

    async def _visible(self, session: AsyncSession, order: Order | None,
                       order_id: uuid.UUID) -> Order:
        if order is None or not await may_act_on(order.store_code, session_networks(session)):
            raise not_found("order", str(order_id), "ORDER_NOT_FOUND")
        return order

    async def _answer(self, repo: SqlOrderRepository, order: Order) -> OP.Order:
        products = await repo.products(sorted({x.sku for x in order.lines}))
        return order_to_pb(order, products, await repo.history(order.id),
                           await request_repo.of_order(repo.conn, order.id))

    def _wake(self) -> None:
        if self.deps.outbox is not None:
            self.deps.outbox.wake()

    async def _act(self, method: str, request: Message, response: type[R],
                   order_id_text: str, expected_version: int, reason: str,
                   action: Callable[[Order], actions.Effect],
                   build: Callable[[OP.Order, Outcome], R]) -> R:
        order_id = parse_uuid(order_id_text, "order_id")
        # the card context is read before the transaction (it is the pricing path's read)
        async with self.deps.db.transaction() as session:
            repo = await SqlOrderRepository.of(session)
            peek = await self._visible(session, await repo.get(order_id), order_id)
        card = await self._card_context(peek.card_number, self.deps.clock())
        moment = peek.created_at or self.deps.clock()

        async def work(session: AsyncSession) -> R:
            repo = await SqlOrderRepository.of(session)
            outcome = await service.act(self._ports(repo, session, card, moment), order_id,
                                        expected_version, reason, action)
            if outcome.order.state in (OrderState.CANCELLED, OrderState.COMPLETED):
                await request_repo.close_pending(repo.conn, order_id)
            await record(session, Change("web_order", str(order_id), method,
                                         {"version": expected_version},
                                         {"version": outcome.order.version,
                                          "state": outcome.order.state.value}))
            return build(await self._answer(repo, outcome.order), outcome)

        answer = await run_once(self.deps.db, SERVICE + method, request, response, work)
        self._wake()
        order_pb = getattr(answer, "order", None)  # every action answers its order
        if order_pb is not None and order_pb.state == OP.ORDER_STATE_CANCELLED:
            await self._send_refunds(order_id)
        return answer

    async def _send_refunds(self, order_id: uuid.UUID) -> None:
        """A cancelled order's card refunds, after its cancel committed."""
        await refund_flow.send_order(self.deps.db, refund_flow.refunder(
            self.deps.plugins.payment_providers().get("liqpay")), order_id, self.deps.clock())
