"""OrderService's requests to stores: AskStores and the store's AnswerStoreRequest."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.deps import caller
from server.api.idempotency import parse_uuid, run_once
from server.api.scope import (
    may_act_on,
    session_networks,
)
from server.api.servicers.orders_base import SERVICE, OrderServicerBase
from server.api.servicers.orders_pb import ANSWERS, OP, STRATEGIES
from server.db.audit.repo import Change, record
from server.db.orders import requests as request_repo
from server.db.orders import stock as stock_repo
from server.db.orders.repo import SqlOrderRepository
from server.errors import Violations, not_found
from server.orders import actions, allocation, service
from server.orders.model import (
    LineState,
    Order,
)
from server.orders.requests import (
    LineAnswer,
    StoreRequest,
    apply_answer,
    ask,
    check_answer,
    deadline_after,
)


class StoresMixin(OrderServicerBase):
    """AskStores and AnswerStoreRequest."""

    async def AskStores(self, request: OP.AskStoresRequest,
                        context: Context) -> OP.AskStoresResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        now = self.deps.clock()
        deadline = deadline_after(now, request.deadline_seconds)
        asks = [(a.store_code, list(a.line_nos)) for a in request.asks]
        async with self.deps.db.transaction() as session:
            repo = await SqlOrderRepository.of(session)
            order = await self._visible(session, await repo.get(order_id), order_id)
            known = await repo.stores_exist(sorted({a[0] for a in asks}))
            if not asks:
                asks = await self._allocated(session, order, request)
                known = {a[0] for a in asks}
        made: list[StoreRequest] = []
        round_no = [1]  # the order's next round, read inside the transaction

        def action(o: Order) -> actions.Effect:
            requests, effect = ask(o, asks, round_no[0], deadline, known)
            made.extend(requests)
            return effect

        async def work(session: AsyncSession) -> OP.AskStoresResponse:
            repo = await SqlOrderRepository.of(session)
            round_no[0] = await request_repo.next_round(repo.conn, order_id)
            made.clear()
            outcome = await service.act(self._ports(repo, session, None, now), order_id,
                                        request.expected_version, request.reason, action)
            await request_repo.add(repo.conn, made, now)
            await record(session, Change("web_order", str(order_id), "AskStores", None,
                                         {"version": outcome.order.version,
                                          "requests": [str(r.id) for r in made]}))
            return OP.AskStoresResponse(order=await self._answer(repo, outcome.order),
                                        store_request_ids=[str(r.id) for r in made])

        answer = await run_once(self.deps.db, SERVICE + "AskStores", request,
                                OP.AskStoresResponse, work)
        self._wake()
        return answer

    async def _allocated(self, session: AsyncSession, order: Order,
                         request: OP.AskStoresRequest) -> list[tuple[str, list[int]]]:
        """Every open line to the store the strategy picks (lines nobody holds: left out)."""
        needs = [allocation.Need(x.line_no, x.sku, x.quantity_milli) for x in order.lines
                 if x.state is LineState.OPEN]
        stock = await stock_repo.stock_of(session, sorted({n.sku for n in needs}))
        shelf = allocation.shelf(stock, order.pickup_store_code, request.virtual_shelf)
        strategy = allocation.STRATEGIES[STRATEGIES.get(request.strategy, "store_priority")]
        picked = strategy.allocate(needs, shelf, allocation.AllocationContext(
            tuple(request.store_codes), order.address.city if order.address else "",
            await stock_repo.cities(session)))
        by_store: dict[str, list[int]] = {}
        for line_no, store in sorted(picked.items()):
            by_store.setdefault(store, []).append(line_no)
        return sorted(by_store.items())

    async def AnswerStoreRequest(self, request: OP.AnswerStoreRequestRequest,
                                 context: Context) -> OP.AnswerStoreRequestResponse:
        store_request_id = parse_uuid(request.store_request_id, "store_request_id")
        errors = Violations()
        answers = []
        for i, a in enumerate(request.answers):
            kind = ANSWERS.get(a.answer)
            if kind is None:
                errors.add(f"answers[{i}].answer", "required: confirmed, partly or refused")
                continue
            answers.append(LineAnswer(a.line_no, kind, a.confirmed_quantity_milli, a.reason))
        if not request.answers:
            errors.add("answers", "at least one answer")
        errors.raise_if_any()
        async with self.deps.db.transaction() as session:
            repo = await SqlOrderRepository.of(session)
            found = await request_repo.get(repo.conn, store_request_id)
            if found is None or not await may_act_on(found.store_code,
                                                     session_networks(session)):
                raise not_found("store request", str(store_request_id),
                                "STORE_REQUEST_NOT_FOUND")
            peek = await repo.get(found.order_id)
            assert peek is not None
        card = await self._card_context(peek.card_number, self.deps.clock())
        moment = peek.created_at or self.deps.clock()

        async def work(session: AsyncSession) -> OP.AnswerStoreRequestResponse:
            repo = await SqlOrderRepository.of(session)
            await repo.lock(peek.id)  # the order first, then its request: one lock order
            current = await request_repo.get(repo.conn, store_request_id)
            assert current is not None
            now = self.deps.clock()
            check_answer(current, answers, now)
            who = caller().label
            outcome = await service.act(
                self._ports(repo, session, card, moment), peek.id, None, "store answer",
                lambda o: apply_answer(o, current, answers, now, who))
            await request_repo.save(repo.conn, current)
            await record(session, Change("web_order", str(peek.id), "AnswerStoreRequest",
                                         None, {"store_request_id": str(current.id),
                                                "version": outcome.order.version}))
            return OP.AnswerStoreRequestResponse(order=await self._answer(repo, outcome.order))

        answer = await run_once(self.deps.db, SERVICE + "AnswerStoreRequest", request,
                                OP.AnswerStoreRequestResponse, work)
        self._wake()
        if answer.order.state == OP.ORDER_STATE_CANCELLED:  # every line refused
            await self._send_refunds(peek.id)
        return answer
