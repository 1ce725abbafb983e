"""OrderService: protobuf in, the orders application service (server/orders/service.py) out.

Every mutating call runs once per request_id (run_once): the claim, the change, the ledger
movements, the history entry, the audit row, the events and the customer's message commit
together. Orders belong to the web store that placed them: a key bound to a store or a
network sees only its stores' orders (another's read as ORDER_NOT_FOUND).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message
from kopilka.v1 import orders_pb2, orders_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import money, time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import claim_of, parse_uuid, run_once
from server.api.order_certificates import certificate_state, settlement_change
from server.api.order_pricing import order_pricer
from server.api.paging import decode_token, encode_token, page_size
from server.api.scope import (
    acting_store_in_scope,
    may_act_on,
    session_networks,
    snapshot_networks,
)
from server.api.verification_spend import calling_key
from server.audit.actor import Actor, acting
from server.auth.scope import visible_stores
from server.db import scope_repo
from server.db.audit.repo import Change, record
from server.db.members.repo import SqlMemberRepository
from server.db.orders import offers as offer_repo
from server.db.orders import placement
from server.db.orders import requests as request_repo
from server.db.orders import stock as stock_repo
from server.db.orders.money import SqlOrderMoney
from server.db.orders.notify import SqlNotifier
from server.db.orders.repo import ProductNames, SqlOrderRepository
from server.db.payments.refunds import SqlOrderPayments
from server.db.pricing.context import CardPricingContext, load_card_context
from server.errors import DomainError, Violations, echo, invalid, not_found
from server.features import refunds as refund_flow
from server.limits import MAX_AMOUNT, MAX_RECEIPT_LINES
from server.orders import actions, allocation, alternatives, service
from server.orders.customers import CustomerData, find_or_register
from server.orders.model import (
    Address,
    DeliveryKind,
    HistoryEntry,
    Line,
    LineState,
    Order,
    OrderState,
)
from server.orders.notifications import DEFAULT_LANGUAGE, LANGUAGES, render_offer
from server.orders.requests import (
    Answer,
    LineAnswer,
    RequestState,
    StoreRequest,
    apply_answer,
    ask,
    check_answer,
    deadline_after,
)
from server.orders.service import Outcome, Ports
from server.orders.states import Action, require, require_line
from server.verification.tokens import TokenCheck

SERVICE = "/kopilka.v1.OrderService/"
LINK_PATH = "/orders/alternatives/"  # server/features/order_links.py serves it
CUSTOMER_LINK = Actor("customer:link")  # who accepted an alternative by its signed link
OP = orders_pb2
R = TypeVar("R", bound=Message)

STATE_TO_PB = {OrderState.PLACED: OP.ORDER_STATE_PLACED,
               OrderState.CONFIRMED: OP.ORDER_STATE_CONFIRMED,
               OrderState.COMPLETED: OP.ORDER_STATE_COMPLETED,
               OrderState.CANCELLED: OP.ORDER_STATE_CANCELLED,
               OrderState.RETURNED: OP.ORDER_STATE_RETURNED}
STATES = {v: k for k, v in STATE_TO_PB.items()}
LINE_STATE_TO_PB = {LineState.OPEN: OP.ORDER_LINE_STATE_OPEN,
                    LineState.CONFIRMED: OP.ORDER_LINE_STATE_CONFIRMED,
                    LineState.CANCELLED: OP.ORDER_LINE_STATE_CANCELLED,
                    LineState.RETURNED: OP.ORDER_LINE_STATE_RETURNED}
DELIVERY = {OP.DELIVERY_KIND_PICKUP: DeliveryKind.PICKUP,
            OP.DELIVERY_KIND_COURIER: DeliveryKind.COURIER,
            OP.DELIVERY_KIND_NOVA_POSHTA: DeliveryKind.NOVA_POSHTA}
DELIVERY_TO_PB = {v: k for k, v in DELIVERY.items()}
STRATEGIES = {OP.ALLOCATION_STRATEGY_UNSPECIFIED: "store_priority",
              OP.ALLOCATION_STRATEGY_STORE_PRIORITY: "store_priority",
              OP.ALLOCATION_STRATEGY_MOST_STOCK: "most_stock",
              OP.ALLOCATION_STRATEGY_FEWEST_SHIPMENTS: "fewest_shipments",
              OP.ALLOCATION_STRATEGY_CUSTOMER_CITY: "customer_city"}


def _address_pb(a: Address | None) -> OP.Address | None:
    if a is None:
        return None
    return OP.Address(address_id=str(a.id) if a.id else "", city=a.city, street=a.street,
                     postal_code=a.postal_code, nova_poshta_branch=a.nova_poshta_branch,
                     recipient_name=a.recipient_name, recipient_phone=a.recipient_phone)


REQUEST_STATE_TO_PB = {RequestState.PENDING: OP.STORE_REQUEST_STATE_PENDING,
                       RequestState.ANSWERED: OP.STORE_REQUEST_STATE_ANSWERED,
                       RequestState.EXPIRED: OP.STORE_REQUEST_STATE_EXPIRED,
                       RequestState.CLOSED: OP.STORE_REQUEST_STATE_CLOSED}
ANSWERS = {OP.LINE_ANSWER_KIND_CONFIRMED: Answer.CONFIRMED,
           OP.LINE_ANSWER_KIND_PARTLY: Answer.PARTLY, OP.LINE_ANSWER_KIND_REFUSED: Answer.REFUSED}
ANSWER_TO_PB = {v: k for k, v in ANSWERS.items()}
SETTLEMENTS = {OP.SETTLEMENT_POINTS: "points", OP.SETTLEMENT_CASH_ACCOUNT: "cash_account",
               OP.SETTLEMENT_PAYMENT: "payment", OP.SETTLEMENT_CERTIFICATE: "certificate"}


_NO_PRODUCT = ("", "", "")


def order_to_pb(order: Order, products: dict[str, tuple[str, str, str]],
                history: list[HistoryEntry] | None = None,
                store_requests: list[StoreRequest] | None = None) -> OP.Order:
    """The order with everything a caller needs to show its lines."""
    live = order.live_lines
    pb = OP.Order(
        order_id=str(order.id), external_number=order.external_number,
        store_code=order.store_code, state=STATE_TO_PB[order.state], version=order.version,
        member_id=str(order.member_id), card_number=order.card_number or "",
        delivery=OP.Delivery(kind=DELIVERY_TO_PB[order.delivery_kind],
                            pickup_store_code=order.pickup_store_code or "",
                            address=_address_pb(order.address)),
        comment=order.comment,
        subtotal=money(sum(x.base_amount for x in live), order.currency),
        discount_total=money(sum(x.discount_amount for x in live), order.currency),
        total=money(order.total, order.currency), points_requested=order.points_requested,
        points_reserved=order.points_reserved, points_spent=order.points_spent,
        points_accrued=order.points_accrued, points_returned=order.points_returned,
        points_reversed=order.points_reversed, create_time=timestamp(order.created_at),
        update_time=timestamp(order.updated_at), language=order.language)
    add_line = pb.lines.add
    for x in order.lines:  # field by field: upb looks every keyword argument up by name
        name, group, brand = products.get(x.sku, _NO_PRODUCT)
        line = add_line()
        line.line_no = x.line_no
        line.sku = x.sku
        line.name = name
        line.group_code = group
        line.brand = brand
        line.quantity_milli = x.quantity_milli
        line.unit_price_minor = x.unit_price
        line.base_amount_minor = x.base_amount
        line.discount_amount_minor = x.discount_amount
        line.points_paid = x.points_paid
        line.final_amount_minor = x.final_amount
        line.points_to_accrue = x.accrual_points
        line.state = LINE_STATE_TO_PB[x.state]
        line.returned_quantity_milli = x.returned_milli
        if x.store_code:
            line.store_code = x.store_code
        if x.split_from:
            line.split_from_line_no = x.split_from
        if x.replaces:
            line.replaces_line_no = x.replaces
        if x.promotions:
            line.promotions.extend(x.promotions)
    for h in history or []:
        pb.history.add(version=h.version, change_time=timestamp(h.created_at),
                       principal=h.principal, action=h.action, line_no=h.line_no,
                       reason=h.reason, state=STATE_TO_PB[h.state],
                       detail_json=json.dumps(h.detail, ensure_ascii=False, sort_keys=True))
    for r in store_requests or []:
        pb.store_requests.add(
            store_request_id=str(r.id), store_code=r.store_code, round=r.round,
            state=REQUEST_STATE_TO_PB[r.state], deadline_time=timestamp(r.deadline_at),
            answer_time=timestamp(r.answered_at), answered_by=r.answered_by,
            lines=[OP.RequestedLine(
                line_no=x.line_no, quantity_milli=x.quantity_milli,
                answer=ANSWER_TO_PB[x.answer] if x.answer else OP.LINE_ANSWER_KIND_UNSPECIFIED,
                confirmed_quantity_milli=x.confirmed_milli, reason=x.reason)
                for x in r.lines])
    return pb


def _new_address(kind: DeliveryKind, a: OP.Address) -> Address:
    """A delivery address given in the request, checked (INVALID_ARGUMENT naming fields)."""
    errors = Violations()
    if not a.city.strip():
        errors.add("delivery.address.city", "required")
    if kind is DeliveryKind.COURIER and not a.street.strip():
        errors.add("delivery.address.street", "required for a courier")
    if kind is DeliveryKind.NOVA_POSHTA and not (a.nova_poshta_branch.strip()
                                                 or a.street.strip()):
        errors.add("delivery.address.nova_poshta_branch", "a branch or a street is required")
    errors.raise_if_any()
    return Address(a.city.strip(), a.street.strip(), a.postal_code.strip(),
                   a.nova_poshta_branch.strip(), a.recipient_name.strip(),
                   a.recipient_phone.strip())


def _placed_change(order: Order) -> Change:
    """The audit row of a placement."""
    return Change("web_order", str(order.id), "place", None,
                  {"version": 1, "total_minor": order.total,
                   "points_reserved": order.points_reserved})


def _plain_delivery(pb: OP.Delivery) -> tuple[DeliveryKind, str | None, Address | None] | None:
    """The delivery when checking it needs no lookup but the pickup store's (which
    kopilka_place_order makes): pickup, or a new address; None otherwise, and when it is
    refused (the general path answers then, in its order of checks)."""
    kind = DELIVERY.get(pb.kind)
    if kind is None:
        return None
    if kind is DeliveryKind.PICKUP:
        return (kind, pb.pickup_store_code, None) if pb.pickup_store_code else None
    if pb.address.address_id:
        return None
    try:
        return kind, None, _new_address(kind, pb.address)
    except DomainError:
        return None


class OrderServicer(orders_pb2_grpc.OrderServiceServicer):
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

    # --- placing ----------------------------------------------------------------------

    def _lines(self, request: OP.PlaceOrderRequest) -> list[Line]:
        snap = self.deps.pricing.snapshot
        errors = Violations()
        if not request.lines:
            errors.add("lines", "at least one line")
        if len(request.lines) > MAX_RECEIPT_LINES:
            errors.add("lines", f"at most {MAX_RECEIPT_LINES} lines")
        seen: set[int] = set()
        lines = []
        total = 0
        for i, pb in enumerate(request.lines):
            path = f"lines[{i}]"
            if pb.line_no <= 0:
                errors.add(f"{path}.line_no", "must be > 0")
            elif pb.line_no in seen:
                errors.add(f"{path}.line_no", f"duplicate line number {pb.line_no}")
            seen.add(pb.line_no)
            if pb.quantity_milli <= 0:
                errors.add(f"{path}.quantity_milli", "must be > 0 (thousandths: 1000 = 1 piece)")
            if pb.unit_price_minor < 0:
                errors.add(f"{path}.unit_price_minor", "must be >= 0")
            amount = max(pb.quantity_milli, 0) * max(pb.unit_price_minor, 0) // 1000
            if amount > MAX_AMOUNT:
                errors.add(f"{path}.unit_price_minor", f"quantity x price over {MAX_AMOUNT}")
            total += amount
            if not pb.sku:
                errors.add(f"{path}.sku", "required")
            elif snap.catalog.get(pb.sku) is None:
                errors.add(f"{path}.sku", f"unknown SKU {echo(pb.sku)}")
            lines.append(Line(pb.line_no, pb.sku, pb.quantity_milli, pb.unit_price_minor))
        if total > MAX_AMOUNT and not errors:
            errors.add("lines", f"the order adds up to more than {MAX_AMOUNT}")
        only_unknown = bool(errors) and all("unknown SKU" in v.description
                                            for v in errors.items)
        errors.raise_if_any("PRODUCT_NOT_FOUND" if only_unknown else "INVALID_ARGUMENT")
        return lines

    async def _delivery(self, repo: SqlOrderRepository, member_id: uuid.UUID,
                        pb: OP.Delivery) -> tuple[DeliveryKind, str | None, Address | None]:
        kind = DELIVERY.get(pb.kind)
        if kind is None:
            raise invalid("delivery.kind", "required: pickup, courier or Nova Poshta")
        if kind is DeliveryKind.PICKUP:
            code = pb.pickup_store_code
            if not code:
                raise invalid("delivery.pickup_store_code", "required for pickup")
            if not await repo.stores_exist([code]):
                raise invalid("delivery.pickup_store_code", f"unknown store {echo(code)}",
                              "STORE_NOT_FOUND")
            return kind, code, None
        a = pb.address
        if a.address_id:
            found = await repo.address(member_id, parse_uuid(a.address_id,
                                                             "delivery.address.address_id"))
            if found is None:
                raise invalid("delivery.address.address_id", "not one of the member's addresses")
            return kind, None, found
        return kind, None, _new_address(kind, a)

    async def PlaceOrder(self, request: OP.PlaceOrderRequest,
                         context: Context) -> OP.PlaceOrderResponse:
        snap = self.deps.pricing.snapshot
        store_code = await acting_store_in_scope(request.store_code, snapshot_networks(snap.stores))
        if store_code not in snap.stores:
            raise invalid("store_code", f"unknown store {echo(store_code)}", "STORE_NOT_FOUND")
        currency = request.currency or self.deps.settings.currency
        if currency != self.deps.settings.currency:
            raise invalid("currency", f"this server prices in {self.deps.settings.currency}")
        if request.points_to_spend < 0:
            raise invalid("points_to_spend", "must be >= 0")
        if not request.external_number:
            raise invalid("external_number", "required: the shop's order number")
        language = request.customer.language or DEFAULT_LANGUAGE
        if language not in LANGUAGES:
            raise invalid("customer.language", f"one of {', '.join(LANGUAGES)}")
        lines = self._lines(request)
        c = request.customer
        data = CustomerData(c.card_number, c.phone, c.email, c.first_name, c.last_name,
                            c.issue_card_type)
        now = self.deps.clock()
        card_hint = await self._card_context(c.card_number, now) if c.card_number else None
        access = self.deps.access()
        at_once = await self._place_at_once(request, store_code, currency, language, lines,
                                            card_hint, now, access.member_view.vip)
        if at_once is not None:
            self._wake()
            return at_once

        async def work(session: AsyncSession) -> OP.PlaceOrderResponse:
            who = caller().label
            customer = await find_or_register(
                SqlMemberRepository(session), data, region=self.deps.settings.default_region,
                principal=who, sees_vip=access.member_view.vip)
            repo = await SqlOrderRepository.of(session)
            kind, pickup, address = await self._delivery(repo, customer.member.id,
                                                         request.delivery)
            card = card_hint
            if customer.card_number and card is None:
                card = await self._card_context(customer.card_number, now)
            order = Order(
                id=uuid.uuid4(), external_number=request.external_number,
                store_code=store_code, member_id=customer.member.id,
                card_number=customer.card_number, state=OrderState.PLACED, version=0,
                language=language, delivery_kind=kind, pickup_store_code=pickup,
                address=address, comment=request.comment, currency=currency,
                lines=lines, created_by=who, created_at=now, updated_at=now)
            placed = await service.place(
                self._ports(repo, session, card, now, verification=self._token_check(
                    request, parse_uuid(request.request_id, "request_id"))),
                order, request.points_to_spend)
            if customer.registered:
                await record(session, Change("member", str(customer.member.id), "register",
                                             None, {"channel": "web_order"}))
            await record(session, _placed_change(placed))
            # answered from memory: the order was written just now, its one history entry
            # too, and no store was asked yet (no read back of what this call wrote)
            products = await repo.products(sorted({x.sku for x in placed.lines}))
            return OP.PlaceOrderResponse(
                order=order_to_pb(placed, products, [service.placed_entry(placed, who, now)]),
                member_registered=customer.registered)

        answer = await run_once(self.deps.db, SERVICE + "PlaceOrder", request,
                                OP.PlaceOrderResponse, work)
        self._wake()
        return answer

    async def _place_at_once(self, request: OP.PlaceOrderRequest, store_code: str,
                             currency: str, language: str, lines: list[Line],
                             card: CardPricingContext | None, now: dt.datetime,
                             sees_vip: bool) -> OP.PlaceOrderResponse | None:
        """The common placement in one database call (server/db/orders/placement.py): the
        same application service, the same answer, history, events, message and audit as
        `work` below; None when only the general path can decide (nothing was written)."""
        delivery = _plain_delivery(request.delivery)
        if card is None or card.member_id is None or delivery is None:
            return None
        try:
            claim = claim_of(SERVICE + "PlaceOrder", request, caller().key_id)
        except DomainError:
            return None
        kind, pickup, address = delivery
        who = caller().label
        batch = placement.PlacementBatch(who, self.deps.clock(),
                                         self._token_check(request, claim.request_id))
        order = Order(
            id=uuid.uuid4(), external_number=request.external_number, store_code=store_code,
            member_id=card.member_id, card_number=request.customer.card_number,
            state=OrderState.PLACED, version=0, language=language, delivery_kind=kind,
            pickup_store_code=pickup, address=address, comment=request.comment,
            currency=currency, lines=[Line(x.line_no, x.sku, x.quantity_milli, x.unit_price)
                                      for x in lines],  # fresh: the general path's stay so
            created_by=who,
            created_at=now, updated_at=now)
        try:
            placed = await service.place(
                Ports(batch, batch, batch, order_pricer(self.deps.pricing.snapshot, card, now),
                      who), order, request.points_to_spend)
        except placement.Undecided:
            return None
        document = batch.document(sees_vip, [_placed_change(placed)])
        async with (await self.deps.ledger_pool.get()).acquire() as conn:
            products = await self._product_names.of(
                conn, sorted({x.sku for x in placed.lines}), self.deps.pricing.snapshot.catalog)
            answer = OP.PlaceOrderResponse(
                order=order_to_pb(placed, products, [service.placed_entry(placed, who, now)]),
                member_registered=False)
            if not await placement.write(conn, claim, answer.SerializeToString(
                    deterministic=True), document):
                return None
        return answer

    def _token_check(self, request: OP.PlaceOrderRequest, request_id: uuid.UUID
                     ) -> TokenCheck:
        """The request's verification token as the money port checks and uses it."""
        return TokenCheck(self.deps.signer, request.verification_token, calling_key(),
                          request_id)

    # --- reading ----------------------------------------------------------------------

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

    # --- actions ----------------------------------------------------------------------

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
            done = await service.exchange(self._ports(repo, session, card, now), order_id,
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

    # --- stock ------------------------------------------------------------------------

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

    # --- asking stores ----------------------------------------------------------------

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

    # --- alternatives -----------------------------------------------------------------

    def link(self, token: str) -> str:
        """Where the customer opens an offer (the HTTP mount of server/features/order_links)."""
        return f"{self.deps.settings.orders_public_url.rstrip('/')}{LINK_PATH}{token}"

    async def OfferAlternatives(self, request: OP.OfferAlternativesRequest,
                                context: Context) -> OP.OfferAlternativesResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        lifetime = alternatives.ttl(request.ttl_seconds)
        if request.max_alternatives < 0:
            raise invalid("max_alternatives", "must be >= 0")
        prices = {c.sku: c.unit_price_minor for c in request.candidates}
        if any(p < 0 for p in prices.values()):
            raise invalid("candidates", "prices must be >= 0")

        async def work(session: AsyncSession) -> OP.OfferAlternativesResponse:
            repo = await SqlOrderRepository.of(session)
            order = await self._visible(session, await repo.lock(order_id), order_id)
            require(order, Action.REPLACE_LINE)
            line = order.line(request.line_no)
            if line is None:
                raise invalid("line_no", f"order has no line {request.line_no}",
                              "ORDER_LINE_NOT_FOUND")
            require_line(order, line.line_no, Action.REPLACE_LINE)
            _, group, brand = (await repo.products([line.sku])).get(line.sku, ("", "", ""))
            found = await offer_repo.candidates(repo.conn, group, brand,
                                                sorted(prices) if prices else None)
            chosen = alternatives.choose(
                line.sku, group, brand, line.quantity_milli, line.unit_price,
                offer_repo.as_candidates(found, prices or dict.fromkeys(found,
                                                                         line.unit_price)),
                request.price_band_bps, request.max_alternatives)
            now = self.deps.clock()
            offers = [alternatives.Offer(uuid.uuid4(), order.id, line.line_no, c.sku,
                                         c.unit_price, now + lifetime) for c in chosen]
            await offer_repo.add(repo.conn, offers)
            links = [self.link(self.deps.signer.sign(alternatives.PURPOSE, {"o": str(o.id)}))
                     for o in offers]
            if request.notify_customer and offers:
                subject, text = render_offer(order, line.sku, [
                    f"{c.name or c.sku} {c.unit_price // 100}.{c.unit_price % 100:02d}: {url}"
                    for c, url in zip(chosen, links, strict=True)])
                await SqlNotifier(session).send(order, subject, text,
                                                f"web_order:{order.id}:alternatives")
            await record(session, Change("web_order", str(order.id), "OfferAlternatives",
                                         None, {"line_no": line.line_no,
                                                "offers": [str(o.id) for o in offers]}))
            return OP.OfferAlternativesResponse(alternatives=[
                OP.Alternative(offer_id=str(o.id), sku=c.sku, name=c.name,
                               unit_price_minor=c.unit_price, in_stock_milli=c.in_stock_milli,
                               url=url, expire_time=timestamp(o.expires_at))
                for o, c, url in zip(offers, chosen, links, strict=True)])

        answer = await run_once(self.deps.db, SERVICE + "OfferAlternatives", request,
                                OP.OfferAlternativesResponse, work)
        self._wake()
        return answer

    async def offer_of(self, token: str) -> tuple[alternatives.Offer, str]:
        """The offer a genuine link names, with its product's name (TOKEN_INVALID if not)."""
        payload = self.deps.signer.verify(alternatives.PURPOSE, token, "token")
        async with self.deps.db.transaction() as session:
            conn = (await SqlOrderRepository.of(session)).conn
            offer = await offer_repo.get(conn, uuid.UUID(str(payload["o"])))
            if offer is None:
                raise not_found("offer", str(payload["o"]), "ORDER_NOT_FOUND")
            names = await SqlOrderRepository(conn).products([offer.sku])
        return offer, names.get(offer.sku, ("", "", ""))[0]

    async def accept_offer(self, token: str) -> Order:
        """The customer took the alternative: the line is replaced, once, before expiry.
        Raises OfferClosed when the link was used or has expired."""
        offer, _ = await self.offer_of(token)
        now = self.deps.clock()
        if offer.used_at is not None or now >= offer.expires_at:
            raise OfferClosed("used" if offer.used_at else "expired")
        async with self.deps.db.transaction() as session:
            peek = await (await SqlOrderRepository.of(session)).get(offer.order_id)
            assert peek is not None
        card = await self._card_context(peek.card_number, now)
        who = CUSTOMER_LINK.label
        with acting(CUSTOMER_LINK):
            async with self.deps.db.transaction() as session:
                repo = await SqlOrderRepository.of(session)
                await repo.lock(offer.order_id)
                if not await offer_repo.use(repo.conn, offer.id, now):
                    raise OfferClosed("used")
                outcome = await service.act(
                    self._ports(repo, session, card, peek.created_at or now, who),
                    offer.order_id, None, "accepted by the customer",
                    lambda o: actions.replace_line(o, offer.line_no, offer.sku, 0,
                                                   offer.unit_price))
                await offer_repo.close_line(repo.conn, offer.order_id, offer.line_no, now)
                await record(session, Change("web_order", str(offer.order_id),
                                             "accept_alternative", None,
                                             {"offer_id": str(offer.id),
                                              "version": outcome.order.version}))
        self._wake()
        return outcome.order


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


class OfferClosed(Exception):
    """An alternative's link that was used already or has expired."""
