"""PlaceOrder: the general path in one run_once transaction, and the common placement in
one database call (server/db/orders/placement.py)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.deps import caller
from server.api.idempotency import claim_of, parse_uuid, run_once
from server.api.order_pricing import order_pricer
from server.api.scope import (
    acting_store_in_scope,
    snapshot_networks,
)
from server.api.servicers.orders_base import SERVICE, OrderServicerBase
from server.api.servicers.orders_pb import DELIVERY, OP, order_to_pb
from server.db.audit.repo import Change, record
from server.db.members.repo import SqlMemberRepository
from server.db.orders import placement
from server.db.orders.money import with_locked_balance
from server.db.orders.repo import SqlOrderRepository
from server.db.pricing.context import CardPricingContext
from server.errors import DomainError, Violations, echo, invalid
from server.limits import MAX_AMOUNT, MAX_RECEIPT_LINES
from server.orders import service
from server.orders.customers import CustomerData, find_or_register
from server.orders.model import (
    Address,
    DeliveryKind,
    Line,
    Order,
    OrderState,
)
from server.orders.notifications import DEFAULT_LANGUAGE, LANGUAGES
from server.orders.service import Ports


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


class PlacingMixin(OrderServicerBase):
    """PlaceOrder."""

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
            if card is not None and request.points_to_spend:
                # the hint was read before this transaction: an order that raced for the
                # same points may have taken them since
                card = await with_locked_balance(repo.conn, card, now)
            order = Order(
                id=uuid.uuid4(), external_number=request.external_number,
                store_code=store_code, member_id=customer.member.id,
                card_number=customer.card_number, state=OrderState.PLACED, version=0,
                language=language, delivery_kind=kind, pickup_store_code=pickup,
                address=address, comment=request.comment, currency=currency,
                lines=lines, created_by=who, created_at=now, updated_at=now)
            placed = await service.place(
                self._ports(repo, session, card, now, verification=self._token_check(
                    request.verification_token, parse_uuid(request.request_id, "request_id"))),
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
            placement.FALLBACKS.labels("shape").inc()
            return None
        try:
            claim = claim_of(SERVICE + "PlaceOrder", request, caller().key_id)
        except DomainError:  # a request id that is not one: the general path says so
            placement.FALLBACKS.labels("bad_request_id").inc()
            return None
        kind, pickup, address = delivery
        who = caller().label
        batch = placement.PlacementBatch(who, self.deps.clock(),
                                         self._token_check(request.verification_token,
                                                          claim.request_id))
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
            placement.FALLBACKS.labels("undecided").inc()
            return None
        document = batch.document(sees_vip, [_placed_change(placed)])
        async with (await self.deps.ledger_pool.get()).acquire() as conn:
            products = await self._product_names.of(
                conn, sorted({x.sku for x in placed.lines}), self.deps.pricing.snapshot.catalog)
            answer = OP.PlaceOrderResponse(member_registered=False)
            order_to_pb(placed, products, [service.placed_entry(placed, who, now)],
                        into=answer.order)
            if not await placement.write(conn, claim, answer.SerializeToString(
                    deterministic=True), document):
                return None
        return answer
