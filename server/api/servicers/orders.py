"""OrderService: protobuf in, the orders application service (server/orders/service.py) out.

Every mutating call runs once per request_id (run_once): the claim, the change, the ledger
movements, the history entry, the audit row, the events and the customer's message commit
together. Orders belong to the web store that placed them: a key bound to a store or a
network sees only its stores' orders (another's read as ORDER_NOT_FOUND).
"""

from __future__ import annotations

from server.api.context import Context
from server.api.convert import time_field
from server.api.deps import caller
from server.api.idempotency import parse_uuid
from server.api.paging import decode_token, encode_token, page_size
from server.api.servicers.orders_actions import ActionsMixin
from server.api.servicers.orders_alternatives import AlternativesMixin, OfferClosed
from server.api.servicers.orders_pb import OP, STATES, order_to_pb
from server.api.servicers.orders_placing import PlacingMixin
from server.api.servicers.orders_stock import StockMixin
from server.api.servicers.orders_stores import StoresMixin
from server.auth.scope import visible_stores
from server.db import scope_repo
from server.db.orders.repo import SqlOrderRepository
from server.errors import Violations

__all__ = ["OfferClosed", "OrderServicer", "order_to_pb"]


class OrderServicer(PlacingMixin, ActionsMixin, StockMixin, StoresMixin, AlternativesMixin):
    """OrderService: each group of calls is a mixin of its own module; reading is here."""

    async def GetOrder(self, request: OP.GetOrderRequest, context: Context) -> OP.GetOrderResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        async with self.deps.db.transaction() as session:
            repo = await SqlOrderRepository.of(session)
            order = await self._visible(session, await repo.get(order_id), order_id)
            return OP.GetOrderResponse(order=await self._answer(repo, order))

    async def ListOrders(self, request: OP.ListOrdersRequest,
                         context: Context) -> OP.ListOrdersResponse:
        member_id = parse_uuid(request.member_id, "member_id") if request.member_id else None
        state = STATES.get(request.state) if request.state else None
        errors = Violations()
        since = time_field(request, "from_time", errors)
        until = time_field(request, "to_time", errors)
        if since and until and since >= until:
            errors.add("to_time", "must be after from_time")
        errors.raise_if_any()
        limit = page_size(request.page.page_size)
        before = decode_token(request.page.page_token)
        who = caller()
        async with self.deps.db.transaction() as session:
            network = (await scope_repo.network_store_codes(session, who.network_code)
                       if who.network_code else frozenset())
            stores = visible_stores(who, network)
            if request.store_code:  # within the caller's scope: another store shows nothing
                stores = frozenset({request.store_code}) & (stores if stores is not None
                                                            else {request.store_code})
            repo = await SqlOrderRepository.of(session)
            orders = await repo.page(member_id, state, stores, before, limit + 1,
                                     since=since, until=until)
            products = await repo.products(sorted({x.sku for o in orders for x in o.lines}))
        more = len(orders) > limit
        orders = orders[:limit]
        response = OP.ListOrdersResponse(orders=[order_to_pb(o, products) for o in orders])
        if more and orders[-1].created_at is not None:
            response.page.next_page_token = encode_token(orders[-1].created_at, orders[-1].id)
        return response
