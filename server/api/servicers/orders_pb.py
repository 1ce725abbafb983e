"""OrderService's messages: the enums both ways and an order as the caller sees it."""

from __future__ import annotations

import json

from kopilka.v1 import orders_pb2

from server.api.convert import money, timestamp
from server.orders.model import (
    Address,
    DeliveryKind,
    HistoryEntry,
    LineState,
    Order,
    OrderState,
)
from server.orders.requests import (
    Answer,
    RequestState,
    StoreRequest,
)

OP = orders_pb2

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
                store_requests: list[StoreRequest] | None = None,
                into: OP.Order | None = None) -> OP.Order:
    """The order with everything a caller needs to show its lines; `into`: filled in that
    (empty) message, a response's own field, rather than a new one the response would copy."""
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
        total=money(sum(x.final_amount for x in live), order.currency),  # order.total
        points_requested=order.points_requested,
        points_reserved=order.points_reserved, points_spent=order.points_spent,
        points_accrued=order.points_accrued, points_returned=order.points_returned,
        points_reversed=order.points_reversed, create_time=timestamp(order.created_at),
        update_time=timestamp(order.updated_at), language=order.language)
    if into is not None:  # the head only: the lines go straight into `into`
        into.MergeFrom(pb)
        pb = into
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
