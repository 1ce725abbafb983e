"""The actions on an order and its lines, as pure changes of the domain object.

Each checks the state machine (server/orders/states.py) and its input, changes the order and
returns what the history records. Pricing and money are the service's business: an action
only says whether the order needs pricing again (`Effect.reprice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.errors import DomainError, ErrorKind, FieldViolation, Violations, invalid
from server.limits import MAX_AMOUNT
from server.orders.model import Line, LineState, Order, OrderState
from server.orders.states import Action, require, require_line, settle


@dataclass(slots=True)
class Effect:
    """What an action did: history detail, whether to price again, a new line's number."""

    action: Action
    line_no: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    reprice: bool = False
    new_line_no: int = 0
    returned: list[tuple[int, int]] = field(default_factory=list)  # (line_no, milli)


def _line(order: Order, line_no: int, action: Action) -> Line:
    line = order.line(line_no)
    if line is None:
        raise invalid("line_no", f"order has no line {line_no}", "ORDER_LINE_NOT_FOUND")
    require_line(order, line_no, action)
    return line


def _quantity(value: int, field_path: str = "quantity_milli") -> int:
    if value <= 0:
        raise invalid(field_path, "must be > 0 (thousandths: 1000 = 1 piece)")
    if value > MAX_AMOUNT:
        raise invalid(field_path, f"at most {MAX_AMOUNT}")
    return value


def _next_line_no(order: Order) -> int:
    return max((x.line_no for x in order.lines), default=0) + 1


def confirm(order: Order) -> Effect:
    """Every open line confirmed: the order is ready to hand over."""
    require(order, Action.CONFIRM)
    for line in order.live_lines:
        line.state = LineState.CONFIRMED
    settle(order)
    return Effect(Action.CONFIRM)


def confirm_line(order: Order, line_no: int, store_code: str | None = None) -> Effect:
    """One line confirmed (by a store, or the operator)."""
    require(order, Action.CONFIRM_LINE)
    line = _line(order, line_no, Action.CONFIRM_LINE)
    line.state = LineState.CONFIRMED
    if store_code:
        line.store_code = store_code
    settle(order)
    return Effect(Action.CONFIRM_LINE, line_no, {"store_code": line.store_code})


def cancel(order: Order) -> Effect:
    """The whole order cancelled before hand-over."""
    require(order, Action.CANCEL)
    for line in order.live_lines:
        line.state = LineState.CANCELLED
    order.state = OrderState.CANCELLED
    return Effect(Action.CANCEL)


def complete(order: Order) -> Effect:
    """Handed over: only a confirmed order."""
    require(order, Action.COMPLETE)
    order.state = OrderState.COMPLETED
    return Effect(Action.COMPLETE)


def change_quantity(order: Order, line_no: int, quantity_milli: int) -> Effect:
    """A new quantity; the line needs confirming again."""
    require(order, Action.CHANGE_QUANTITY)
    line = _line(order, line_no, Action.CHANGE_QUANTITY)
    before = line.quantity_milli
    line.quantity_milli = _quantity(quantity_milli)
    line.state = LineState.OPEN
    settle(order)
    return Effect(Action.CHANGE_QUANTITY, line_no,
                  {"quantity_milli": {"before": before, "after": line.quantity_milli}},
                  reprice=True)


def replace_line(order: Order, line_no: int, sku: str, quantity_milli: int,
                 unit_price: int) -> Effect:
    """The line cancelled and another product added in its place (open)."""
    require(order, Action.REPLACE_LINE)
    line = _line(order, line_no, Action.REPLACE_LINE)
    errors = Violations()
    if not sku:
        errors.add("sku", "required")
    if unit_price < 0:
        errors.add("unit_price_minor", "must be >= 0")
    if quantity_milli < 0:
        errors.add("quantity_milli", "must be >= 0 (0: the replaced line's quantity)")
    errors.raise_if_any()
    quantity = _quantity(quantity_milli or line.quantity_milli)
    if quantity * unit_price // 1000 > MAX_AMOUNT:
        raise invalid("unit_price_minor", f"quantity x price over {MAX_AMOUNT}")
    line.state = LineState.CANCELLED
    new = Line(_next_line_no(order), sku, quantity, unit_price, store_code=line.store_code,
               replaces=line_no)
    order.lines.append(new)
    settle(order)
    return Effect(Action.REPLACE_LINE, line_no,
                  {"new_line_no": new.line_no, "sku": sku, "quantity_milli": quantity,
                   "unit_price_minor": unit_price}, reprice=True, new_line_no=new.line_no)


def split_line(order: Order, line_no: int, quantity_milli: int,
               store_code: str | None = None) -> Effect:
    """Part of a line moved to a new line (another store, another shipment)."""
    require(order, Action.SPLIT_LINE)
    line = _line(order, line_no, Action.SPLIT_LINE)
    moved = _quantity(quantity_milli)
    if moved >= line.quantity_milli:
        raise invalid("quantity_milli",
                      f"must be less than the line's quantity {line.quantity_milli}")
    line.quantity_milli -= moved
    new = Line(_next_line_no(order), line.sku, moved, line.unit_price, state=line.state,
               store_code=store_code or line.store_code, split_from=line_no)
    order.lines.append(new)
    settle(order)
    return Effect(Action.SPLIT_LINE, line_no,
                  {"new_line_no": new.line_no, "quantity_milli": moved,
                   "store_code": new.store_code}, reprice=True, new_line_no=new.line_no)


def cancel_line(order: Order, line_no: int) -> Effect:
    """One line cancelled; with none left the order is cancelled."""
    require(order, Action.CANCEL_LINE)
    line = _line(order, line_no, Action.CANCEL_LINE)
    line.state = LineState.CANCELLED
    settle(order)
    return Effect(Action.CANCEL_LINE, line_no, reprice=order.state is not OrderState.CANCELLED)


def return_lines(order: Order, returns: Sequence[tuple[int, int]],
                 action: Action = Action.RETURN_LINES) -> Effect:
    """Quantities of lines of a completed order given back; all back: the order is returned."""
    require(order, action)
    if not returns:
        raise invalid("returns", "at least one line")
    seen: set[int] = set()
    for i, (line_no, milli) in enumerate(returns):
        line = order.line(line_no)
        if line is None:
            raise invalid(f"returns[{i}].line_no", f"order has no line {line_no}",
                          "ORDER_LINE_NOT_FOUND")
        if line_no in seen:
            raise invalid(f"returns[{i}].line_no", f"line {line_no} named twice")
        seen.add(line_no)
        require_line(order, line_no, Action.RETURN_LINES)
        _quantity(milli, f"returns[{i}].quantity_milli")
        left = line.quantity_milli - line.returned_milli
        if milli > left:
            text = f"line {line_no} has {left} thousandths left to return"
            raise DomainError(ErrorKind.INVALID_ARGUMENT, "RETURN_EXCEEDS_ORDER", text,
                              [FieldViolation(f"returns[{i}].quantity_milli", text)],
                              {"line_no": str(line_no), "returnable_milli": str(left)})
    for line_no, milli in returns:
        line = order.line(line_no)
        assert line is not None
        line.returned_milli += milli
        if line.returned_milli == line.quantity_milli:
            line.state = LineState.RETURNED
    if not any(x.state is LineState.CONFIRMED for x in order.lines):
        order.state = OrderState.RETURNED
    return Effect(action, 0,
                  {"returns": [{"line_no": n, "quantity_milli": q} for n, q in returns]},
                  returned=list(returns))


def exchange(order: Order, returns: Sequence[tuple[int, int]],
             new_lines: Sequence[tuple[str, int, int]]) -> tuple[Effect, list[Line]]:
    """Lines given back and new ones handed over at once (confirmed): the order stays
    completed while it has a confirmed line. The new lines are numbered after the others."""
    require(order, Action.EXCHANGE)
    if not new_lines:
        raise invalid("new_lines", "at least one line (a return alone: ReturnLines)")
    errors = Violations()
    for i, (sku, quantity, price) in enumerate(new_lines):
        if not sku:
            errors.add(f"new_lines[{i}].sku", "required")
        if not 0 < quantity <= MAX_AMOUNT:
            errors.add(f"new_lines[{i}].quantity_milli", "must be > 0")
        if price < 0 or quantity * price // 1000 > MAX_AMOUNT:
            errors.add(f"new_lines[{i}].unit_price_minor", f"0 to {MAX_AMOUNT} in total")
    errors.raise_if_any()
    effect = return_lines(order, returns, Action.EXCHANGE)
    added = []
    for sku, quantity, price in new_lines:
        line = Line(_next_line_no(order), sku, quantity, price, state=LineState.CONFIRMED)
        order.lines.append(line)
        added.append(line)
    order.state = OrderState.COMPLETED
    effect.detail["new_line_nos"] = [x.line_no for x in added]
    return effect, added
