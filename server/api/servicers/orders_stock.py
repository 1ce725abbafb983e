"""OrderService's stock: SetStock and GetAvailability."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.idempotency import parse_uuid, run_once
from server.api.servicers.orders_base import SERVICE, OrderServicerBase
from server.api.servicers.orders_pb import OP, STRATEGIES
from server.db.audit.repo import Change, record
from server.db.orders import stock as stock_repo
from server.db.orders.repo import SqlOrderRepository
from server.errors import invalid
from server.orders import allocation
from server.orders.model import (
    LineState,
)


class StockMixin(OrderServicerBase):
    """SetStock and GetAvailability."""

    async def SetStock(self, request: OP.SetStockRequest, context: Context) -> OP.SetStockResponse:
        rows = stock_repo.parse_balances(
            [(b.store_code, b.sku, b.quantity_milli) for b in request.balances], "balances")
        cities = [(c.store_code, c.city.strip()) for c in request.cities]
        if not rows and not cities:
            raise invalid("balances", "at least one balance or city")

        async def work(session: AsyncSession) -> OP.SetStockResponse:
            written = await stock_repo.set_balances(session, rows, "balances")
            await stock_repo.set_cities(session, cities, "cities")
            await record(session, Change("stock", "balances", "set", None,
                                         {"count": written, "cities": len(cities)}))
            return OP.SetStockResponse(written=written)

        return await run_once(self.deps.db, SERVICE + "SetStock", request, OP.SetStockResponse,
                              work)

    async def GetAvailability(self, request: OP.GetAvailabilityRequest,
                              context: Context) -> OP.GetAvailabilityResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        strategy = allocation.STRATEGIES[STRATEGIES.get(request.strategy, "store_priority")]
        async with self.deps.db.transaction() as session:
            repo = await SqlOrderRepository.of(session)
            order = await self._visible(session, await repo.get(order_id), order_id)
            needs = [allocation.Need(x.line_no, x.sku, x.quantity_milli)
                     for x in order.lines if x.state is LineState.OPEN
                     or x.state is LineState.CONFIRMED]
            stock = await stock_repo.stock_of(session, sorted({n.sku for n in needs}))
            by_city = request.strategy == OP.ALLOCATION_STRATEGY_CUSTOMER_CITY
            cities = await stock_repo.cities(session) if by_city else {}
        shelf = allocation.shelf(stock, order.pickup_store_code, request.virtual_shelf)
        picked = strategy.allocate(needs, shelf, allocation.AllocationContext(
            tuple(request.store_codes), order.address.city if order.address else "", cities))
        response = OP.GetAvailabilityResponse(
            available=bool(needs) and len(picked) == len(needs),
            allocated_store_codes=sorted(set(picked.values())),
            complete_store_codes=sorted(
                s for s in shelf if all(shelf[s].get(n.sku, 0) >= n.quantity_milli
                                        for n in needs)) if needs else [])
        for need in needs:
            held = sorted((s, q[need.sku]) for s, q in stock.items() if q.get(need.sku, 0) > 0)
            response.lines.add(
                line_no=need.line_no, quantity_milli=need.quantity_milli,
                stores=[OP.StockBalance(store_code=s, sku=need.sku, quantity_milli=q)
                        for s, q in held],
                allocated_store_code=picked.get(need.line_no, ""),
                available=bool(allocation.holders(need, shelf)))
        return response
