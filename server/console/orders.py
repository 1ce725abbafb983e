"""The console's online orders: a filtered list in keyset pages, an order's page (lines,
history, store requests and answers, payments, waybills) and the actions its state allows.

Every read and action is the OrderService / PaymentService RPC through `Door`, so the same
permission, scope, idempotency (request_id), version check and audit as over gRPC. Which
buttons show comes from the state machine's own table (server/orders/states.py) and the
user's permission for the RPC; the RPC still decides.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import common_pb2, orders_pb2, payments_pb2

from server.auth.principal import Principal
from server.errors import DomainError, ErrorKind
from server.orders.model import LineState, OrderState
from server.orders.states import ALLOWED, LINE_ALLOWED, Action

if TYPE_CHECKING:
    from server.console.web import Console

ORD, PAY = "/kopilka.v1.OrderService/", "/kopilka.v1.PaymentService/"
PAGE = 50
#: the order actions the console offers: URL word -> (RPC, request, response, state action)
ACTIONS: dict[str, tuple[str, Any, Any, Action]] = {
    "confirm": ("ConfirmOrder", orders_pb2.ConfirmOrderRequest,
                orders_pb2.ConfirmOrderResponse, Action.CONFIRM),
    "complete": ("CompleteOrder", orders_pb2.CompleteOrderRequest,
                 orders_pb2.CompleteOrderResponse, Action.COMPLETE),
    "cancel": ("CancelOrder", orders_pb2.CancelOrderRequest,
               orders_pb2.CancelOrderResponse, Action.CANCEL),
}
#: the line actions: URL word -> (RPC, response, state action); each form's fields are read
#: by `_line_request`
LINE_ACTIONS: dict[str, tuple[str, Any, Action]] = {
    "quantity": ("ChangeLineQuantity", orders_pb2.ChangeLineQuantityResponse,
                 Action.CHANGE_QUANTITY),
    "replace": ("ReplaceLine", orders_pb2.ReplaceLineResponse, Action.REPLACE_LINE),
    "split": ("SplitLine", orders_pb2.SplitLineResponse, Action.SPLIT_LINE),
    "cancel": ("CancelLine", orders_pb2.CancelLineResponse, Action.CANCEL_LINE),
}
STATE_WORDS = [s.value for s in OrderState]
#: an exchange's settlements as the form names them (orders.proto Settlement)
SETTLEMENT_WORDS = ["points", "cash_account", "payment", "certificate"]
NEW_ROWS = 2  # how many new lines one exchange form offers


def word(enum: Any, value: int) -> str:
    """An enum value as its lower-case word: ORDER_STATE_PLACED -> "placed"."""
    zero = str(enum.Name(0))  # every enum's zero is its PREFIX_UNSPECIFIED
    return str(enum.Name(value)).removeprefix(zero[:-len("UNSPECIFIED")]).lower()


def _day(value: str, end: bool) -> Timestamp | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(dt.datetime.combine(day + dt.timedelta(days=1) if end else day,
                                           dt.time(), dt.UTC))
    return stamp


def list_request(query: dict[str, str], member_id: str = "",
                 size: int = 0) -> orders_pb2.ListOrdersRequest:
    """ListOrders from the page's filters (state word, store, from/to dates, page token)."""
    request = orders_pb2.ListOrdersRequest(
        member_id=member_id, store_code=query.get("store", "").strip()[:64],
        page=common_pb2.PageRequest(page_size=size or PAGE,
                                    page_token=query.get("page_token", "")[:500]))
    state = query.get("state", "")
    if state in STATE_WORDS:
        request.state = orders_pb2.OrderState.Value("ORDER_STATE_" + state.upper())
    for name, field, end in (("from", "from_time", False), ("to", "to_time", True)):
        stamp = _day(query.get(name, ""), end)
        if stamp is not None:
            getattr(request, field).CopyFrom(stamp)
    return request


def row(order: orders_pb2.Order) -> dict[str, Any]:
    """One order as the list and the member page show it."""
    return {"id": order.order_id, "number": order.external_number, "store": order.store_code,
            "state": word(orders_pb2.OrderState, order.state), "version": order.version,
            "member_id": order.member_id, "total": order.total.amount_minor,
            "placed": order.create_time, "lines": len(order.lines)}


def allowed(order: orders_pb2.Order) -> frozenset[Action]:
    """What the order's state lets be done to it (the state machine's table)."""
    return ALLOWED[OrderState(word(orders_pb2.OrderState, order.state))]


def line_allows(order: orders_pb2.Order, line: orders_pb2.OrderLine, action: Action) -> bool:
    """Whether the order's and the line's states let `action` be done to the line."""
    state = LineState(word(orders_pb2.OrderLineState, line.state))
    return action in allowed(order) and state in LINE_ALLOWED[action]


def line_cancellable(order: orders_pb2.Order, line: orders_pb2.OrderLine) -> bool:
    return line_allows(order, line, Action.CANCEL_LINE)



def _returned(form: Mapping[str, str]) -> list[orders_pb2.ReturnedLine]:
    """The quantities given back (`return_<line_no>` fields; blank ones are not returned)."""
    return [orders_pb2.ReturnedLine(line_no=_number(key.removeprefix("return_")),
                                    quantity_milli=_milli(value))
            for key, value in form.items() if key.startswith("return_") and value.strip()]

class OrderPages:
    """The handlers; `add_routes` puts them on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/orders", self.orders)
        router.add_get("/orders/{order_id}", self.order)
        router.add_post("/orders/{order_id}/lines/{line_no}/alternatives", self.alternatives)
        router.add_post("/orders/{order_id}/lines/{line_no}/{action}", self.line_action)
        router.add_post("/orders/{order_id}/return", self.return_lines)
        router.add_post("/orders/{order_id}/ask", self.ask_stores)
        router.add_post("/orders/{order_id}/exchange", self.exchange)
        router.add_post("/orders/{order_id}/{action}", self.act)

    async def member_orders(self, who: Principal, member_id: str) -> list[dict[str, Any]]:
        """The member's newest orders for the member page (none without the right)."""
        if not self.door.allowed_rpc(who, ORD + "ListOrders"):
            return []
        answer = await self.door.call(who, ORD + "ListOrders", list_request({}, member_id, 20),
                                      orders_pb2.ListOrdersResponse)
        return [row(o) for o in answer.orders]

    async def orders(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        query = dict(request.query)
        answer = await self.door.call(who, ORD + "ListOrders", list_request(query),
                                      orders_pb2.ListOrdersResponse)
        keep = {k: query[k] for k in ("state", "store", "from", "to") if query.get(k)}
        return self.console.render(
            request, "orders.html", rows=[row(o) for o in answer.orders], keep=keep,
            states=STATE_WORDS, next_token=answer.page.next_page_token,
            members=self.door.allowed_rpc(who, "/kopilka.v1.MemberService/GetMember"))

    async def order(self, request: web.Request, notice: str = "", violations: Any = None,
                    status: int = 200, offered: Any = None) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        order_id = request.match_info["order_id"]
        order = (await self.door.call(who, ORD + "GetOrder",
                                      orders_pb2.GetOrderRequest(order_id=order_id),
                                      orders_pb2.GetOrderResponse)).order
        payments = None
        if self.door.allowed_rpc(who, PAY + "GetOrderPayments"):
            payments = (await self.door.call(
                who, PAY + "GetOrderPayments", payments_pb2.GetOrderPaymentsRequest(
                    order_id=order_id), payments_pb2.GetOrderPaymentsResponse)).payments
        waybills: list[Any] = []
        if self.door.allowed_rpc(who, PAY + "ListWaybills"):
            waybills = list((await self.door.call(
                who, PAY + "ListWaybills", payments_pb2.ListWaybillsRequest(order_id=order_id),
                payments_pb2.ListWaybillsResponse)).waybills)
        can = self.door.allowed_rpc(who, ORD + "CancelOrder")  # the manage right, as the RPCs
        state_allows = allowed(order)
        open_lines = [x for x in order.lines if x.state == orders_pb2.ORDER_LINE_STATE_OPEN]
        askable = open_lines if can and Action.ASK_STORES in state_allows else []
        stock: dict[int, Any] = {}
        if askable and self.door.allowed_rpc(who, ORD + "GetAvailability"):
            stock = {x.line_no: x for x in (await self.door.call(
                who, ORD + "GetAvailability", orders_pb2.GetAvailabilityRequest(
                    order_id=order_id), orders_pb2.GetAvailabilityResponse)).lines}
        returnable = [x for x in order.lines if line_allows(order, x, Action.RETURN_LINES)
                      and x.quantity_milli > x.returned_quantity_milli] if can else []
        t = self.console.t(request)
        return self.console.render(
            request, "order.html", status=status, o=order, word=word, E=_ENUMS,
            state=word(orders_pb2.OrderState, order.state),
            actions=[a for a, (_, _, _, needed) in ACTIONS.items()
                     if can and needed in state_allows],
            cancellable={x.line_no for x in order.lines if can and line_cancellable(order, x)},
            line_actions={x.line_no: [a for a, (_, _, needed) in LINE_ACTIONS.items()
                                      if a != "cancel" and line_allows(order, x, needed)]
                          for x in order.lines} if can else {},
            returnable=returnable, askable=askable, stock=stock,
            exchangeable=returnable if Action.EXCHANGE in state_allows else [],
            alternatives={x.line_no for x in open_lines
                          if can and line_allows(order, x, Action.REPLACE_LINE)},
            offered=offered, new_rows=range(NEW_ROWS), settlements=SETTLEMENT_WORDS,
            field_errors=_field_errors(violations or []),
            payments=payments, waybills=waybills, request_id=str(uuid.uuid4()),
            notice=notice or t.get(request.query.get("notice", ""), ""),
            violations=violations or [], failed=status >= 400,
            members=self.door.allowed_rpc(who, "/kopilka.v1.MemberService/GetMember"))

    async def _change(self, request: web.Request, who: Principal, method: str, message: Any,
                      response_type: Any) -> web.StreamResponse:
        """Run one action; bad input, a state or version conflict shows the order again
        with the reason (nothing changed), anything else goes to the error page."""
        try:
            await self.door.call(who, method, message, response_type)
        except DomainError as error:
            if error.kind in (ErrorKind.INVALID_ARGUMENT, ErrorKind.FAILED_PRECONDITION,
                              ErrorKind.ABORTED):
                status = 400 if error.kind is ErrorKind.INVALID_ARGUMENT else 409
                return await self.order(request, notice=error.message,
                                        violations=error.violations, status=status)
            raise
        raise web.HTTPSeeOther(f"{self.console.prefix}/orders/"
                               f"{request.match_info['order_id']}?notice=done")

    async def act(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        found = ACTIONS.get(request.match_info["action"])
        if found is None:
            raise web.HTTPNotFound()
        method, request_type, response_type, _ = found
        form = await self.console.form(request)
        return await self._change(request, who, ORD + method, request_type(
            request_id=form.get("request_id", ""), order_id=request.match_info["order_id"],
            expected_version=_number(form.get("expected_version", "")),
            reason=form.get("reason", "")), response_type)

    async def line_action(self, request: web.Request) -> web.StreamResponse:
        """One line's quantity changed, replaced by another product, split, or cancelled."""
        who = await self.console.signed_in(request)
        found = LINE_ACTIONS.get(request.match_info["action"])
        if found is None:
            raise web.HTTPNotFound()
        method, response_type, _ = found
        form = await self.console.form(request)
        return await self._change(request, who, ORD + method,
                                  _line_request(method, request.match_info, form),
                                  response_type)

    async def return_lines(self, request: web.Request) -> web.StreamResponse:
        """Quantities of a completed order's lines given back (`return_<line_no>` fields;
        blank ones are not returned)."""
        who = await self.console.signed_in(request)
        form = await self.console.form(request)
        returns = _returned(form)
        return await self._change(request, who, ORD + "ReturnLines", orders_pb2.ReturnLinesRequest(
            request_id=form.get("request_id", ""), order_id=request.match_info["order_id"],
            expected_version=_number(form.get("expected_version", "")),
            reason=form.get("reason", ""), returns=returns), orders_pb2.ReturnLinesResponse)

    async def ask_stores(self, request: web.Request) -> web.StreamResponse:
        """Open lines put to stores in one round with a deadline (`store_<line_no>`: the
        store asked about that line, blank: not asked; all blank: the allocation picks)."""
        who = await self.console.signed_in(request)
        form = await self.console.form(request)
        by_store: dict[str, list[int]] = {}
        for key, value in form.items():
            if key.startswith("store_") and value.strip():
                by_store.setdefault(value.strip()[:64], []).append(
                    _number(key.removeprefix("store_")))
        return await self._change(request, who, ORD + "AskStores", orders_pb2.AskStoresRequest(
            request_id=form.get("request_id", ""), order_id=request.match_info["order_id"],
            expected_version=_number(form.get("expected_version", "")),
            reason=form.get("reason", ""),
            asks=[orders_pb2.StoreAsk(store_code=store, line_nos=sorted(nos))
                  for store, nos in by_store.items()],
            deadline_seconds=_minutes(form.get("deadline_minutes", ""))),
            orders_pb2.AskStoresResponse)

    async def alternatives(self, request: web.Request) -> web.StreamResponse:
        """Products in stock offered for an open line; the page shows them and their links
        (posted again with the same request id: the same offers)."""
        who = await self.console.signed_in(request)
        form = await self.console.form(request)
        message = orders_pb2.OfferAlternativesRequest(
            request_id=form.get("request_id", ""), order_id=request.match_info["order_id"],
            line_no=_number(request.match_info["line_no"]),
            max_alternatives=_count(form.get("max", "")),
            price_band_bps=_count(form.get("band", ""), 100),
            notify_customer=form.get("notify", "") == "on")
        try:
            answer = await self.door.call(who, ORD + "OfferAlternatives", message,
                                          orders_pb2.OfferAlternativesResponse)
        except DomainError as error:
            if error.kind in (ErrorKind.INVALID_ARGUMENT, ErrorKind.FAILED_PRECONDITION):
                return await self.order(request, notice=error.message,
                                        violations=error.violations,
                                        status=400 if error.kind is ErrorKind.INVALID_ARGUMENT
                                        else 409)
            raise
        t = self.console.t(request)
        return await self.order(
            request, notice=t["done"] if answer.alternatives else t["no_alternatives"],
            offered=(message.line_no, list(answer.alternatives)))

    async def exchange(self, request: web.Request) -> web.StreamResponse:
        """A completed order's lines given back (`return_<line_no>`) and new ones handed
        over (`new_sku_<i>`, `new_quantity_<i>`, `new_price_<i>`; blank rows left out), the
        difference settled as chosen."""
        who = await self.console.signed_in(request)
        form = await self.console.form(request)
        returns = _returned(form)
        new_lines = [orders_pb2.NewOrderLine(
            sku=form.get(f"new_sku_{i}", "").strip()[:64],
            quantity_milli=_milli(form.get(f"new_quantity_{i}", "")),
            unit_price_minor=_scaled(form.get(f"new_price_{i}", ""), 100))
            for i in range(NEW_ROWS)
            if any(form.get(f"new_{f}_{i}", "").strip() for f in ("sku", "quantity", "price"))]
        settlement = form.get("settlement", "")
        return await self._change(request, who, ORD + "ExchangeLines",
                                  orders_pb2.ExchangeLinesRequest(
            request_id=form.get("request_id", ""), order_id=request.match_info["order_id"],
            expected_version=_number(form.get("expected_version", "")),
            reason=form.get("reason", ""), returns=returns, new_lines=new_lines,
            settlement=orders_pb2.Settlement.Value("SETTLEMENT_" + settlement.upper())
            if settlement in SETTLEMENT_WORDS else orders_pb2.SETTLEMENT_UNSPECIFIED,
            certificate_number=form.get("certificate_number", "").strip()[:64]),
            orders_pb2.ExchangeLinesResponse)


def _field_errors(violations: Any) -> dict[str, list[str]]:
    """The refusal's violations by the form they belong to ("asks", "new_lines",
    "returns"... the RPC field's first part), for showing them next to it."""
    found: dict[str, list[str]] = {}
    for v in violations:
        head = str(v.field).split(".")[0].split("[")[0]
        found.setdefault(head, []).append(f"{v.field}: {v.description}")
    return found


def _minutes(text: str) -> int:
    """Minutes in the form as seconds; not a whole number: 0 (the RPC names the field)."""
    try:
        return max(0, min(int(text.strip()), 2**31 // 60 - 1)) * 60
    except ValueError:
        return 0


def _count(text: str, unit: int = 1) -> int:
    """A small whole number (times `unit`); blank is 0 (the RPC's default), bad is -1."""
    value = _scaled(text, unit)
    return value if -1 <= value < 2**31 else -1


def _line_request(method: str, match: Any, form: dict[str, str]) -> Any:
    """The line action's request from its form: quantities in units ("1.5"), prices in
    hryvnias ("12.50"); a value that is not a number is sent as -1, so the RPC names it."""
    common = {"request_id": form.get("request_id", ""), "order_id": match["order_id"],
              "expected_version": _number(form.get("expected_version", "")),
              "reason": form.get("reason", ""), "line_no": _number(match["line_no"])}
    quantity = _milli(form.get("quantity", ""))
    if method == "ChangeLineQuantity":
        return orders_pb2.ChangeLineQuantityRequest(**common, quantity_milli=quantity)
    if method == "ReplaceLine":
        return orders_pb2.ReplaceLineRequest(
            **common, sku=form.get("sku", "").strip(), quantity_milli=quantity,
            unit_price_minor=_scaled(form.get("price", ""), 100))
    if method == "SplitLine":
        return orders_pb2.SplitLineRequest(**common, quantity_milli=quantity,
                                           store_code=form.get("store", "").strip())
    return orders_pb2.CancelLineRequest(**common)


def _scaled(text: str, unit: int) -> int:
    """A decimal in the form ("1,5" or "1.5") times `unit`: blank is 0, anything else that is
    not a whole number of the smaller unit is -1 (bad input the RPC refuses by name)."""
    text = text.strip().replace(",", ".").replace(" ", "")
    if not text:
        return 0
    try:
        value = Decimal(text) * unit
    except InvalidOperation:
        return -1
    if not value.is_finite() or value != value.to_integral_value() or abs(value) >= 2**62:
        return -1
    return int(value)


def _milli(text: str) -> int:
    return _scaled(text, 1000)


def _number(text: str) -> int:
    try:
        return max(0, min(int(text), 2**31 - 1))
    except ValueError:
        return 0  # the RPC names the field (a version of 0 never matches)


_ENUMS = {"order": orders_pb2.OrderState, "line": orders_pb2.OrderLineState,
          "request": orders_pb2.StoreRequestState, "answer": orders_pb2.LineAnswerKind,
          "delivery": orders_pb2.DeliveryKind,
          "method": payments_pb2.OrderPaymentMethod, "payment": payments_pb2.PaymentState}
