"""The order state machine: the states, the actions each allows, and where each leads.

docs/orders.md is this table in prose; tests/unit/test_order_states.py drives random action
sequences through `server.orders.actions` and checks no order leaves these states.
"""

from __future__ import annotations

from enum import StrEnum

from server.errors import DomainError, ErrorKind
from server.orders.model import LineState, Order, OrderState


class Action(StrEnum):
    """What may be done to an order (or one of its lines)."""

    CONFIRM = "confirm"
    CONFIRM_LINE = "confirm_line"
    CANCEL = "cancel"
    COMPLETE = "complete"
    CHANGE_QUANTITY = "change_quantity"
    REPLACE_LINE = "replace_line"
    SPLIT_LINE = "split_line"
    CANCEL_LINE = "cancel_line"
    RETURN_LINES = "return_lines"
    ASK_STORES = "ask_stores"
    STORE_ANSWER = "store_answer"
    ROUTE = "route"  # the deadline job asks the next store
    EXCHANGE = "exchange"  # return lines and hand over new ones, the difference settled


_BEFORE_HANDOVER = frozenset({Action.CONFIRM, Action.CONFIRM_LINE, Action.CANCEL,
                              Action.CHANGE_QUANTITY, Action.REPLACE_LINE, Action.SPLIT_LINE,
                              Action.CANCEL_LINE, Action.ASK_STORES, Action.STORE_ANSWER,
                              Action.ROUTE})

#: the actions each state allows; a state with none is final
ALLOWED: dict[OrderState, frozenset[Action]] = {
    OrderState.PLACED: _BEFORE_HANDOVER,
    OrderState.CONFIRMED: _BEFORE_HANDOVER | {Action.COMPLETE},
    OrderState.COMPLETED: frozenset({Action.RETURN_LINES, Action.EXCHANGE}),
    OrderState.CANCELLED: frozenset(),
    OrderState.RETURNED: frozenset(),
}

#: the line states each line action accepts
LINE_ALLOWED: dict[Action, frozenset[LineState]] = {
    Action.CONFIRM_LINE: frozenset({LineState.OPEN, LineState.CONFIRMED}),
    Action.CHANGE_QUANTITY: frozenset({LineState.OPEN, LineState.CONFIRMED}),
    Action.REPLACE_LINE: frozenset({LineState.OPEN, LineState.CONFIRMED}),
    Action.SPLIT_LINE: frozenset({LineState.OPEN, LineState.CONFIRMED}),
    Action.CANCEL_LINE: frozenset({LineState.OPEN, LineState.CONFIRMED}),
    Action.RETURN_LINES: frozenset({LineState.CONFIRMED}),
}

#: every state an order can be in after an action, from each state (for docs and the test)
LEADS_TO: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PLACED: frozenset({OrderState.PLACED, OrderState.CONFIRMED,
                                  OrderState.CANCELLED}),
    OrderState.CONFIRMED: frozenset({OrderState.PLACED, OrderState.CONFIRMED,
                                     OrderState.COMPLETED, OrderState.CANCELLED}),
    OrderState.COMPLETED: frozenset({OrderState.COMPLETED, OrderState.RETURNED}),
    OrderState.CANCELLED: frozenset(),
    OrderState.RETURNED: frozenset(),
}


def require(order: Order, action: Action) -> None:
    """ORDER_STATE_CONFLICT unless the order's state allows `action`."""
    if action not in ALLOWED[order.state]:
        allowed = ", ".join(sorted(ALLOWED[order.state])) or "nothing (final)"
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION, "ORDER_STATE_CONFLICT",
            f"order {order.id} is {order.state}: {action} is not allowed (allowed: {allowed})",
            metadata={"state": order.state.value, "action": action.value})


def require_line(order: Order, line_no: int, action: Action) -> None:
    """ORDER_LINE_STATE_CONFLICT unless the line's state allows `action`."""
    line = order.line(line_no)
    assert line is not None  # callers look the line up first (ORDER_LINE_NOT_FOUND)
    if line.state not in LINE_ALLOWED[action]:
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION, "ORDER_LINE_STATE_CONFLICT",
            f"line {line_no} is {line.state}: {action} is not allowed",
            metadata={"line_no": str(line_no), "state": line.state.value,
                      "action": action.value})


def settle(order: Order) -> None:
    """The order state its lines imply before hand-over: no live line left means cancelled,
    every live line confirmed means confirmed, otherwise placed."""
    if order.state not in (OrderState.PLACED, OrderState.CONFIRMED):
        return
    live = order.live_lines
    if not live:
        order.state = OrderState.CANCELLED
    elif all(x.state is LineState.CONFIRMED for x in live):
        order.state = OrderState.CONFIRMED
    else:
        order.state = OrderState.PLACED
