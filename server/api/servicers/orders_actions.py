"""OrderService's actions on an order or a line, and the ERP's status changes."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import money
from server.api.idempotency import parse_uuid, run_once
from server.api.order_certificates import certificate_state, settlement_change
from server.api.servicers.orders_base import SERVICE, OrderServicerBase
from server.api.servicers.orders_pb import OP, SETTLEMENTS
from server.audit.actor import Actor, acting
from server.db.audit.repo import Change, record
from server.db.orders import requests as request_repo
from server.db.orders.repo import SqlOrderRepository
from server.errors import echo, invalid, not_found
from server.orders import actions, service
from server.orders.model import (
    Order,
    OrderState,
)


class ActionsMixin(OrderServicerBase):
    """Confirm, cancel, complete, change, replace, split, return, exchange."""

    async def ConfirmOrder(self, request: OP.ConfirmOrderRequest,
                           context: Context) -> OP.ConfirmOrderResponse:
        return await self._act("ConfirmOrder", request, OP.ConfirmOrderResponse,
                               request.order_id, request.expected_version, request.reason,
                               actions.confirm,
                               lambda pb, _: OP.ConfirmOrderResponse(order=pb))

    async def CancelOrder(self, request: OP.CancelOrderRequest,
                          context: Context) -> OP.CancelOrderResponse:
        reason = service.require_reason(request.reason)
        return await self._act("CancelOrder", request, OP.CancelOrderResponse,
                               request.order_id, request.expected_version, reason,
                               actions.cancel, lambda pb, _: OP.CancelOrderResponse(order=pb))

    async def CompleteOrder(self, request: OP.CompleteOrderRequest,
                            context: Context) -> OP.CompleteOrderResponse:
        return await self._act("CompleteOrder", request, OP.CompleteOrderResponse,
                               request.order_id, request.expected_version, request.reason,
                               actions.complete,
                               lambda pb, _: OP.CompleteOrderResponse(order=pb))

    async def ChangeLineQuantity(self, request: OP.ChangeLineQuantityRequest,
                                 context: Context) -> OP.ChangeLineQuantityResponse:
        return await self._act(
            "ChangeLineQuantity", request, OP.ChangeLineQuantityResponse, request.order_id,
            request.expected_version, request.reason,
            lambda o: actions.change_quantity(o, request.line_no, request.quantity_milli),
            lambda pb, _: OP.ChangeLineQuantityResponse(order=pb))

    async def ReplaceLine(self, request: OP.ReplaceLineRequest,
                          context: Context) -> OP.ReplaceLineResponse:
        if request.sku and self.deps.pricing.snapshot.catalog.get(request.sku) is None:
            raise invalid("sku", f"unknown SKU {echo(request.sku)}", "PRODUCT_NOT_FOUND")
        return await self._act(
            "ReplaceLine", request, OP.ReplaceLineResponse, request.order_id,
            request.expected_version, request.reason,
            lambda o: actions.replace_line(o, request.line_no, request.sku,
                                           request.quantity_milli, request.unit_price_minor),
            lambda pb, out: OP.ReplaceLineResponse(order=pb,
                                                  new_line_no=out.effect.new_line_no))

    async def SplitLine(self, request: OP.SplitLineRequest,
                        context: Context) -> OP.SplitLineResponse:
        if request.store_code:
            async with self.deps.db.transaction() as session:
                if not await (await SqlOrderRepository.of(session)).stores_exist(
                        [request.store_code]):
                    raise invalid("store_code", f"unknown store {echo(request.store_code)}",
                                  "STORE_NOT_FOUND")
        return await self._act(
            "SplitLine", request, OP.SplitLineResponse, request.order_id,
            request.expected_version, request.reason,
            lambda o: actions.split_line(o, request.line_no, request.quantity_milli,
                                         request.store_code or None),
            lambda pb, out: OP.SplitLineResponse(order=pb, new_line_no=out.effect.new_line_no))

    async def CancelLine(self, request: OP.CancelLineRequest,
                         context: Context) -> OP.CancelLineResponse:
        reason = service.require_reason(request.reason)
        return await self._act(
            "CancelLine", request, OP.CancelLineResponse, request.order_id,
            request.expected_version, reason,
            lambda o: actions.cancel_line(o, request.line_no),
            lambda pb, _: OP.CancelLineResponse(order=pb))

    async def ReturnLines(self, request: OP.ReturnLinesRequest,
                          context: Context) -> OP.ReturnLinesResponse:
        reason = service.require_reason(request.reason)
        pairs = [(x.line_no, x.quantity_milli) for x in request.returns]
        return await self._act(
            "ReturnLines", request, OP.ReturnLinesResponse, request.order_id,
            request.expected_version, reason, lambda o: actions.return_lines(o, pairs),
            lambda pb, out: OP.ReturnLinesResponse(
                order=pb, points_returned=out.points_returned,
                points_reversed=out.points_reversed,
                refund=money(out.refund_minor, pb.total.currency)))

    async def ExchangeLines(self, request: OP.ExchangeLinesRequest,
                            context: Context) -> OP.ExchangeLinesResponse:
        reason = service.require_reason(request.reason)
        order_id = parse_uuid(request.order_id, "order_id")
        settle = SETTLEMENTS.get(request.settlement)
        if settle is None:
            raise invalid("settlement", "required: points, cash account, certificate or "
                          "payment")
        snap = self.deps.pricing.snapshot
        for i, x in enumerate(request.new_lines):
            if x.sku and snap.catalog.get(x.sku) is None:
                raise invalid(f"new_lines[{i}].sku", f"unknown SKU {echo(x.sku)}",
                              "PRODUCT_NOT_FOUND")
        pairs = [(x.line_no, x.quantity_milli) for x in request.returns]
        new = [(x.sku, x.quantity_milli, x.unit_price_minor) for x in request.new_lines]
        async with self.deps.db.transaction() as session:
            repo = await SqlOrderRepository.of(session)
            peek = await self._visible(session, await repo.get(order_id), order_id)
        now = self.deps.clock()
        card = await self._card_context(peek.card_number, now)

        async def work(session: AsyncSession) -> OP.ExchangeLinesResponse:
            repo = await SqlOrderRepository.of(session)
            before = await certificate_state(session, request.certificate_number)
            check = self._token_check(request.verification_token,
                                      parse_uuid(request.request_id, "request_id"))
            done = await service.exchange(self._ports(repo, session, card, now,
                                                      verification=check), order_id,
                                          request.expected_version, reason, pairs, new, settle,
                                          request.certificate_number)
            order = done.outcome.order
            await record(session, Change("web_order", str(order_id), "ExchangeLines",
                                         {"version": request.expected_version},
                                         {"version": order.version,
                                          "difference_minor": done.difference_minor,
                                          "settlement": settle}))
            if settle == "certificate" and done.difference_minor:
                await record(session, await settlement_change(
                    session, request.certificate_number, before, order_id,
                    done.difference_minor))
            return OP.ExchangeLinesResponse(
                order=await self._answer(repo, order),
                refund=money(done.outcome.refund_minor, order.currency),
                new_total=money(done.new_total_minor, order.currency),
                difference=money(done.difference_minor, order.currency),
                points_returned=done.outcome.points_returned,
                points_reversed=done.outcome.points_reversed)

        answer = await run_once(self.deps.db, SERVICE + "ExchangeLines", request,
                                OP.ExchangeLinesResponse, work)
        self._wake()
        return answer

    async def apply_erp_status(self, actor: Actor, order_id_text: str, action: str,
                               reason: str) -> str:
        """What an ERP (1C's order documents) says became of an order, applied through the
        same service.act as ConfirmOrder, CompleteOrder and CancelOrder (the order's current
        version: the ERP answers for the order, not for a version it saw). An order already
        there is left alone; completing a placed order confirms it first. Returns what was
        done, for the ERP's operator; raises DomainError when the order refuses it."""
        order_id = parse_uuid(order_id_text, "order_id")
        async with self.deps.db.transaction() as session:
            peek = await (await SqlOrderRepository.of(session)).get(order_id)
        if peek is None:
            raise not_found("order", order_id_text, "ORDER_NOT_FOUND")
        target = ERP_TARGETS.get(action)
        if target is None:
            raise invalid("action", f"one of {', '.join(ERP_TARGETS)}")
        if peek.state is target or (target is OrderState.CONFIRMED and peek.state in (
                OrderState.COMPLETED, OrderState.RETURNED)):
            return f"{order_id_text}: already {peek.state.value}"
        steps = ([actions.confirm] if target is OrderState.COMPLETED
                 and peek.state is OrderState.PLACED else []) + [ERP_ACTIONS[action]]
        card = await self._card_context(peek.card_number, self.deps.clock())
        with acting(actor):
            async with self.deps.db.transaction() as session:
                repo = await SqlOrderRepository.of(session)
                outcome = None
                for step in steps:
                    outcome = await service.act(
                        self._ports(repo, session, card, peek.created_at or self.deps.clock(),
                                    actor.label), order_id, None, reason, step)
                assert outcome is not None
                if outcome.order.state in (OrderState.CANCELLED, OrderState.COMPLETED):
                    await request_repo.close_pending(repo.conn, order_id)
                await record(session, Change("web_order", order_id_text, f"erp_{action}",
                                             {"version": peek.version,
                                              "state": peek.state.value},
                                             {"version": outcome.order.version,
                                              "state": outcome.order.state.value}))
        self._wake()
        if outcome.order.state is OrderState.CANCELLED:
            await self._send_refunds(order_id)
        return f"{order_id_text}: {outcome.order.state.value}"


ERP_TARGETS = {"confirm": OrderState.CONFIRMED, "complete": OrderState.COMPLETED,
               "cancel": OrderState.CANCELLED}
ERP_ACTIONS: dict[str, Callable[[Order], actions.Effect]] = {
    "confirm": actions.confirm, "complete": actions.complete, "cancel": actions.cancel}
